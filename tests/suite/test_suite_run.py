"""Running a part of the suite (wsdiag.suite.run): its sweep, then one confirmation per
experiment, one job each."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from wsdiag.suite import run as suite_run


class InlinePool:
    """A process pool that runs each task at once, in this process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.workers = args[0]

    def __enter__(self) -> InlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Any, *args: Any) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))
        return done


@pytest.fixture
def sweep_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A part's runs/ folder of finished runs a, b (the same experiment as a), c (no key)."""
    runs = tmp_path / "diagnosis_suite_ip" / "runs"
    for name in ("a", "b", "c"):
        (runs / name).mkdir(parents=True)
    monkeypatch.setattr(suite_run, "is_complete", lambda p: True)
    monkeypatch.setattr(suite_run, "load_run", lambda p: p)
    monkeypatch.setattr(suite_run, "experiment_key", lambda p: {"a": "k", "b": "k"}.get(p.name))
    return runs


def test_each_experiment_is_confirmed_once(sweep_runs: Path) -> None:
    kept, repeats = suite_run.to_confirm(sweep_runs)
    assert [p.name for p in kept] == ["a", "c"]
    assert repeats == [("b", "a")]


def test_a_part_sweeps_then_confirms_its_experiments(
    sweep_runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """`run_part` runs the sweep, then confirms every run but the repeats, `jobs` at a time."""
    swept: list[tuple] = []
    confirmed: list[tuple] = []
    monkeypatch.setattr(suite_run, "run_sweep", lambda *a: swept.append(a) or sweep_runs)
    monkeypatch.setattr(suite_run, "ProcessPoolExecutor", InlinePool)
    monkeypatch.setattr(
        suite_run, "confirm_one", lambda *a: confirmed.append(a) or f"{a[0].name}: confirmed"
    )
    suite = Path("part.toml")
    assert suite_run.run_part(suite, sweep_runs.parent, jobs=2, seeds=3, until_confirmed=True,
                              control=True, max_seeds=8)  # fmt: skip
    assert swept[0][:3] == (suite, sweep_runs.parent, 2)
    assert [(p.name, *rest) for p, *rest in confirmed] == [
        ("a", 3, True, True, 1, "first", 8),
        ("c", 3, True, True, 1, "first", 8),
    ]  # seeds, until the first confirmed, the no-op control, jobs each, strengths, max seeds
    confirmed.clear()
    suite_run.run_part(suite, sweep_runs.parent, jobs=4, seeds=3, by_scenario=False)
    assert [rest[-3] for _, *rest in confirmed] == [2, 2]  # two runs on four jobs: two each
    err = capsys.readouterr().err
    assert "not confirmed: b is the same experiment as a" in err
    assert "a: confirmed" in err and "c: confirmed" in err


def test_a_split_runs_and_confirms_only_its_variants(sweep_runs: Path) -> None:
    """`only` keeps the named variants of a sweep file (a sweep with a grid is refused), and
    `to_confirm` the runs of those variants."""
    from wsdiag.errors import WsdiagError
    from wsdiag.sweep.spec import load_sweep

    spec = load_sweep(Path(__file__).resolve().parents[2] / "examples/sweeps/diagnosis_suite.toml")
    kept = suite_run.only(spec, {"actor-critic", "moderate-expert"})
    assert [v.name for v in kept.variants] == ["actor-critic", "moderate-expert"]
    assert suite_run.only(spec, None) is spec
    with pytest.raises(WsdiagError, match=r"a split names variants, and this sweep has a \[grid\]"):
        suite_run.only(replace(spec, grid={"finetune.actor_lr": (1e-3,)}), {"actor-critic"})
    for name in ("a-seed0", "ab-seed0"):
        (sweep_runs / name).mkdir()
    kept_runs, _ = suite_run.to_confirm(sweep_runs, suite_run.of_variants({"a", "c"}))
    assert [p.name for p in kept_runs] == ["a", "a-seed0", "c"]


def test_a_scenario_is_confirmed_on_its_first_degrading_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`first_degrading` picks, per scenario, the first run (by name) with a significant dip;
    a scenario none of whose runs degrades is named apart."""
    from types import SimpleNamespace

    dips = {"x-seed0": False, "x-seed1": True, "x-seed2": True, "y-seed0": False}
    runs = [tmp_path / n for n in ("x-seed2", "y-seed0", "x-seed1", "x-seed0")]
    monkeypatch.setattr(suite_run, "load_run", lambda p: p.name)
    monkeypatch.setattr(suite_run, "summarise", lambda name, t: SimpleNamespace(
        diagnosis=SimpleNamespace(significant=dips[name])))  # fmt: skip
    chosen, calm = suite_run.first_degrading(runs)
    assert [p.name for p in chosen] == ["x-seed1"]
    assert calm == ["y"]
