"""examples/confirm_speed.py: a (run, mode) pair is recorded once, a pair cut short starts
again, and the totals compare the modes per decided cause over the runs recorded in both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples import confirm_speed
from examples.confirm_speed import (
    copy_name,
    decided,
    ratio_interval,
    steps_by_role,
    steps_taken,
    totals,
)
from wsdiag.errors import WsdiagError


def _line(name: str, mode: str, steps: int, wall: float, **decisions: str) -> dict:
    return {"run": name, "name": name, "mode": mode, "jobs": 2, "steps": steps,
            "wall_s": wall, "decisions": decisions}  # fmt: skip


def test_a_decided_cause_is_confirmed_or_refuted() -> None:
    line = _line("a", "full", 1, 1.0, extrapolation="confirmed", update="refuted",
                 drift="inconclusive", spiral="not tested")  # fmt: skip
    assert decided(line) == 2


def test_totals_compare_per_decided_cause_over_runs_recorded_in_both_modes() -> None:
    lines = [
        _line("a", "default", 100, 10.0, x="confirmed", y="refuted"),
        _line("a", "full", 400, 60.0, x="confirmed", y="refuted"),
        _line("b", "default", 50, 10.0, x="refuted", y="inconclusive"),
        _line("b", "full", 200, 30.0, x="refuted", y="inconclusive"),
        _line("c", "default", 999, 999.0, x="refuted"),  # no full side: left out
    ]
    rows = totals(lines)
    assert rows[0] == "| all 2 | default | 150 | 20 | 3 causes decided |"
    assert rows[1] == "| all 2 | full | 600 | 90 | 3 causes decided |"
    # 20 / 3 against 90 / 3 s: 4.5x; 50 against 200 steps: 4x
    # the runs resampled: both a (6x), both b (3x), or one of each (4.5x)
    assert "7 s against 30 s (4.50x less wall time, [3.00, 6.00] over the runs)" in rows[2]
    assert "50 against 200 steps (4.00x fewer)" in rows[2]
    assert rows[2].endswith("the same on every run")
    lines[3] = _line("b", "full", 200, 30.0, x="confirmed", y="inconclusive")
    assert totals(lines)[2].endswith("DIFFER")


def test_runs_with_one_ratio_give_an_interval_of_that_ratio() -> None:
    assert ratio_interval([20.0, 40.0, 60.0], [10.0, 20.0, 30.0]) == (2.0, 2.0)


def test_a_suite_run_is_named_after_its_part() -> None:
    assert copy_name(Path("runs/bench/bench_idp/runs/actor-seed0")) == "bench_idp-actor-seed0"
    assert copy_name(Path("runs/noop/decisions/decision-0")) == "decision-0"


def test_a_recorded_pair_is_skipped_and_one_cut_short_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "source" / "run-seed0"
    (run / "counterfactual").mkdir(parents=True)
    (run / "config.toml").write_text("")
    out = tmp_path / "out"
    calls: list[str] = []

    def fake_record(run_dir: Path, mode: str, copy: Path, causes: object, jobs: int) -> dict:
        calls.append(mode)
        assert not (copy / "counterfactual").exists()  # the copy leaves it behind
        return _line(copy.name, mode, 10 if mode == "default" else 40, 1.0, x="refuted")

    monkeypatch.setattr(confirm_speed, "record", fake_record)
    confirm_speed.main([str(run), "--out", str(out)])
    assert calls == ["default", "full"]
    assert (out / "default" / "run-seed0" / "config.toml").exists()
    records = (out / "confirm_speed.jsonl").read_text().splitlines()
    assert [json.loads(s)["mode"] for s in records] == ["default", "full"]
    (out / "confirm_speed.jsonl").write_text(records[0] + "\n")  # full was cut short
    (out / "full" / "run-seed0" / "counterfactual" / "runs").mkdir(parents=True)
    calls.clear()
    confirm_speed.main([str(run), "--out", str(out)])
    assert calls == ["full"]
    assert "4.00x fewer" in capsys.readouterr().out


def _events(run: Path, *events: dict) -> None:
    run.mkdir(parents=True)
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_steps_are_counted_from_where_a_run_starts_by_role(tmp_path: Path) -> None:
    runs = tmp_path / "run" / "counterfactual" / "runs"
    _events(runs / "original-seed1", {"event": "end", "step": 4000, "reason": "step_budget"})
    _events(runs / "update-seed1", {"event": "branched", "step": 1000},
            {"event": "end", "step": 4000, "reason": "step_budget"})  # fmt: skip
    _events(runs / "gradient-seed1", {"event": "end", "step": 1500, "reason": "return_below"})
    by_role = steps_by_role(tmp_path / "run")
    assert by_role == {"originals": 4000, "stopped once decided": 1500, "to the horizon": 3000}
    assert steps_taken(tmp_path / "run") == 8500


def test_a_missing_run_is_one_line_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        confirm_speed.main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert "not a run directory (no config.toml)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_options_are_the_confirmations_own_errors_before_any_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run-seed0"
    run.mkdir()
    (run / "config.toml").write_text("")
    for bad, says in ((["--causes", "bogus"], "unknown cause 'bogus'"),
                      (["--jobs", "0"], "--jobs and --threads must be >= 1")):  # fmt: skip
        with pytest.raises(SystemExit) as exit_:
            confirm_speed.main([str(run), "--out", str(tmp_path / "out"), *bad])
        assert exit_.value.code == 2
        assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failed_confirmation_is_one_line_and_keeps_the_recorded_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "source" / "run-seed0"
    run.mkdir(parents=True)
    (run / "config.toml").write_text("")
    out = tmp_path / "out"

    def fake_record(run_dir: Path, mode: str, copy: Path, causes: object, jobs: int) -> dict:
        if mode == "full":
            raise WsdiagError("2 counterfactual run(s) failed")
        return _line(copy.name, mode, 10, 1.0, x="refuted")

    monkeypatch.setattr(confirm_speed, "record", fake_record)
    with pytest.raises(SystemExit) as exit_:
        confirm_speed.main([str(run), "--out", str(out)])
    assert exit_.value.code == 2
    assert "run-seed0 (full): 2 counterfactual run(s) failed" in capsys.readouterr().err
    lines = (out / "confirm_speed.jsonl").read_text().splitlines()
    assert [json.loads(s)["mode"] for s in lines] == ["default"]
