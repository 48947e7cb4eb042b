"""The d3rlpy side by side (benchmarks.d3rlpy_side): the alternation, the worker's output, the
ratios and their verdict, the skip line and the table. Nothing is timed here."""

from __future__ import annotations

import io
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from benchmarks import d3rlpy_side, run_all, updates
from benchmarks.d3rlpy_worker import CONFIGS


def test_the_sides_alternate_which_goes_first() -> None:
    assert [updates.order("abc", r) for r in range(3)] == [list("abc"), list("cba"), list("abc")]
    calls: list[str] = []

    def side(name: str):
        return lambda: calls.append(name) or {"n": len(calls)}

    result = updates.alternate({"A": side("A"), "B": side("B")}, repeats=3)
    assert calls == ["A", "B", "B", "A", "A", "B"]
    assert result["samples"] == {"A": [{"n": 1}, {"n": 4}, {"n": 5}],
                                 "B": [{"n": 2}, {"n": 3}, {"n": 6}]}  # fmt: skip
    assert len(result["load_average"]) == 4  # type: ignore[arg-type]


def test_ratios_give_the_best_the_range_over_all_pairs_and_each_pair() -> None:
    r = updates.ratios([2.0, 4.0], [3.0, 6.0])
    assert r == {"best": 1.5, "low": 0.75, "high": 3.0, "per_repeat": [1.5, 1.5]}


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [(1.3, 1.6, "yes"), (1.0, 1.29, "no"), (1.2, 1.5, "inconclusive")],
)
def test_the_target_is_met_only_by_the_whole_range(low: float, high: float, verdict: str) -> None:
    assert d3rlpy_side.verdict(low, high) == verdict


def test_the_worker_output_is_its_last_json_line() -> None:
    out = 'Gym has been unmaintained\n{"not": "this"}\nlog line\n{"td3_ms": 7.5}\n\n'
    assert d3rlpy_side.parse_worker(out) == {"td3_ms": 7.5}
    with pytest.raises(RuntimeError, match="no result"):
        d3rlpy_side.parse_worker("only logs\n")


def _fake_python(venv: Path, body: str) -> None:
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"#!/bin/sh\n{body}\n")
    python.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for Python")
def test_a_d3rlpy_sample_runs_the_worker_in_the_other_environment(tmp_path: Path) -> None:
    _fake_python(tmp_path / "ok", 'echo "$@" >&2; echo logged; echo \'{"td3_ms": 1.0}\'')
    assert d3rlpy_side.d3rlpy_sample(("td3",), 1, 3, tmp_path / "ok") == {"td3_ms": 1.0}
    _fake_python(tmp_path / "bad", "echo 'No module named d3rlpy' >&2; exit 1")
    with pytest.raises(RuntimeError, match="No module named d3rlpy"):
        d3rlpy_side.d3rlpy_sample(("td3",), 1, 3, tmp_path / "bad")


def test_without_d3rlpy_s_environment_the_section_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(d3rlpy_side, "VENV", tmp_path / ".venv-d3rlpy")
    result = d3rlpy_side.run(iters=1, repeats=1)
    assert result == {"skipped": d3rlpy_side.skip_reason()}
    assert "make bench-d3rlpy" in result["skipped"]
    console = Console(file=io.StringIO(), width=200)
    console.print(d3rlpy_side.render(result))
    assert console.file.getvalue().count("\n") == 1  # type: ignore[attr-defined]
    _fake_python(tmp_path / ".venv-d3rlpy", "exit 0")
    assert d3rlpy_side.skip_reason() is None


def test_the_padded_side_times_every_algorithm_asked_for() -> None:
    sides = d3rlpy_side.sides(("td3", "cql"), 1, 30, padded=True)
    assert list(sides) == ["wsdiag", "wsdiag padded", "d3rlpy"]
    assert sides["wsdiag padded"].args[1] == ("td3", "cql")
    assert sides["wsdiag padded"].args[-1] == d3rlpy_side.PAD
    assert list(d3rlpy_side.sides(("td3", "cql"), 1, 30, padded=False)) == ["wsdiag", "d3rlpy"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the padding needs glibc")
def test_the_padded_side_s_setup_runs() -> None:
    subprocess.run([sys.executable, "-c", d3rlpy_side.PAD], check=True)


def _result() -> dict:
    d3 = [{"td3_ms": 8.0, "td3_batch_ms": 0.03, "cql_ms": 120.0, "cql_batch_ms": 0.03,
           "versions": {"d3rlpy": "2.8.1", "torch": "2.13.0"}}] * 2  # fmt: skip
    samples = {
        "wsdiag": [{"td3_ms": 5.0, "cql_ms": 100.0}, {"td3_ms": 7.0, "cql_ms": 95.0}],
        "wsdiag padded": [{"cql_ms": 80.0}, {"cql_ms": 75.0}],
        "d3rlpy": d3,
    }
    rows = d3rlpy_side.rows(samples, ("td3", "cql"), peak=1e11)
    return {"threads": 1, "iters": 3, "repeats": 2, "versions": d3[0]["versions"],
            "load_average": [[2.0, 2.0, 2.0]] * 3, "rows": rows}  # fmt: skip


def test_each_algorithm_has_a_row_per_wsdiag_side_in_order() -> None:
    rows = _result()["rows"]
    assert [(r["algo"], r["wsdiag"]) for r in rows] == [
        ("td3", "wsdiag"), ("cql", "wsdiag"), ("cql", "wsdiag padded")
    ]  # fmt: skip
    assert rows[0]["ratio"]["best"] == 1.6
    assert rows[0]["target_met"] == "inconclusive"  # 8 / 7 to 8 / 5
    assert rows[2]["ratio"]["per_repeat"] == [1.5, 1.6]
    assert rows[2]["target_met"] == "yes" and "why" not in rows[2]
    assert rows[0]["why"] == d3rlpy_side.SPREAD  # the best pair, 1.6x, reaches 1.3x
    assert rows[1]["target_met"] == "no"  # 120 / 100 to 120 / 95
    assert rows[1]["why"].startswith("wsdiag's matmuls run at ")


def test_the_table_lists_beside_it_what_is_not_matched() -> None:
    console = Console(file=io.StringIO(), width=250)
    console.print(d3rlpy_side.render(_result()))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "CQL padded" in text
    assert "1.3x not shown, TD3: the best pair reaches it" in text
    assert "1.3x not shown, CQL: wsdiag's matmuls run at" in text
    assert "1.3x not shown, CQL padded" not in text  # met
    assert "Not matched between the libraries" in text
    assert all(u.split(":")[0] in text for u in d3rlpy_side.UNMATCHED)


def test_d3rlpy_is_configured_for_every_algorithm_wsdiag_times() -> None:
    assert tuple(CONFIGS) == updates.ALGOS
    assert CONFIGS["cql"][1]["n_action_samples"] == 10
    assert CONFIGS["cql"][1]["alpha_learning_rate"] == 0.0  # no Lagrange form, as wsdiag


def test_the_section_is_registered_with_its_sizes_checked() -> None:
    args = run_all.parse_args(["--sections", "d3rlpy"])
    assert args.sections == ["d3rlpy"] and (args.d3rlpy_iters, args.d3rlpy_repeats) == (30, 6)
    assert "d3rlpy" in run_all.parse_args([]).sections
    with pytest.raises(SystemExit):
        run_all.parse_args(["--d3rlpy-repeats", "0"])
