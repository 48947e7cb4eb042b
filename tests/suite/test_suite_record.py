"""Suite records (wsdiag.suite.record): JSON lines written and read back, old files included,
the ground truth from recorded shares, and each experiment counted once; the committed records
give docs/results/diagnosis-suite.md's tables."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from wsdiag.errors import WsdiagError
from wsdiag.suite.record import (
    SuiteRecord,
    distinct,
    read_records,
    recorded_truth,
    write_records,
)
from wsdiag.suite.tables import report, tables
from wsdiag.suite.targets import count

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "examples" / "results"
DOCS = ROOT / "docs" / "results" / "diagnosis-suite.md"


def record(run: str = "p/a-seed0", **fields) -> SuiteRecord:
    """A degrading run's record, its truth derived unless given."""
    base = {"significant": True, "verdict": "extrapolation", "confirmed": "none", "dip": 500.0,
            "min_step": 900, "warning": None}  # fmt: skip
    return SuiteRecord(run=run, **(base | fields))


def test_a_record_round_trips_through_json_lines(tmp_path: Path) -> None:
    items = [
        record(
            dip=933.4,
            confirmed="extrapolation",
            warning=100,
            min_step=1500,
            shares={"extrapolation": 0.68, "drift": 0.07, "spiral": None},
            intervals={"extrapolation": (0.38, 0.94)},
            seeds=3,
            experiment="k1",
            versions={"torch": "2.13.0"},
            cpu={"machine": "x86_64"},
            critic_loaded=False,
            policy_start=1000,
            baseline=-150.5,
            eval_steps=(0, 100, 200),
            eval_returns=(-150.5, -160.25, -900.0),
            split="dev",
        ),
        record("p/b-seed0", significant=False, verdict="none", dip=0.0, named=()),
    ]
    path = tmp_path / "results" / "part.jsonl"
    write_records(items, path)
    assert read_records(path) == items
    assert [r.truth for r in items] == ["extrapolation", "none"]
    first = json.loads(path.read_text().splitlines()[0])
    assert first["intervals"] == {"extrapolation": [0.38, 0.94]} and first["truth"]
    assert first["eval_steps"] == [0, 100, 200] and first["critic_loaded"] is False


def test_an_older_record_gets_its_defaults_and_truth(tmp_path: Path) -> None:
    """Rows written before `truth`, `named`, `seeds` or the experiment key existed."""
    row = {"run": "p/a-seed0", "significant": True, "verdict": "drift", "confirmed": "none",
           "dip": 400.0, "min_step": 1000, "warning": 500, "dips": {},
           "shares": {"drift": 0.44}, "intervals": {}, "unknown": 1}  # fmt: skip
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(row) + "\n\n")
    (old,) = read_records(path)
    assert old.named == ("drift",) and old.seeds == 1 and old.experiment is None
    assert old.critic_loaded is None and old.eval_steps == () and old.split is None
    assert old.truth == "inconclusive"  # one seed: 44% neither confirms nor refutes
    assert old.own == "inconclusive"


@pytest.mark.parametrize("text", ["not json\n", "[1, 2]\n", '{"run": "a"}\n'])
def test_a_file_that_is_no_record_is_refused_in_one_line(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(text)
    with pytest.raises(WsdiagError, match=r"bad.jsonl: not a suite record \(") as info:
        read_records(bad)
    assert "\n" not in str(info.value)


def test_a_runs_truth_is_none_only_when_every_intervention_is_refuted() -> None:
    """From a record's shares and intervals: a cause is refuted when its interval (two seeds or
    more) lies below half; a one-seed share, or an interval reaching half, is inconclusive."""

    def row(shares, intervals, seeds=3, confirmed="none") -> SuiteRecord:
        return record(shares=shares, intervals=intervals, seeds=seeds, confirmed=confirmed)

    refuted = row({"extrapolation": 0.2, "drift": 0.08, "spiral": None},
                  {"extrapolation": (0.13, 0.31), "drift": (0.04, 0.12)})  # fmt: skip
    assert refuted.truth == "none"
    unsure = row({"extrapolation": 0.47, "drift": 0.35},
                 {"extrapolation": (0.36, 0.59), "drift": (0.15, 0.51)})  # fmt: skip
    assert unsure.truth == "inconclusive"
    assert row({"extrapolation": 0.44}, {}, seeds=1).truth == "inconclusive"
    confirmed = row({"extrapolation": 0.63}, {"extrapolation": (0.38, 0.94)},
                    confirmed="extrapolation")  # fmt: skip
    assert confirmed.truth == "extrapolation"
    assert recorded_truth(replace(refuted, significant=False)) == "none"
    assert recorded_truth(replace(refuted, confirmed="?")) == "?"
    text = tables([refuted, unsure, confirmed])
    assert ("ground truth: 1 confirmed, 1 none (every intervention refuted), 1 inconclusive; "
            "verdict = truth where a cause is confirmed: 1/1, where the truth is decided: "
            "1/2") in text  # fmt: skip
    assert ("the verdict's own intervention: 1 confirmed, 1 refuted, 1 inconclusive, "
            "0 not tested") in text  # fmt: skip
    assert "| extrapolation | 1 | 1 | 1 |" in text


def test_a_repeated_experiment_is_counted_once() -> None:
    """Records with one `experiment` key are one experiment: the first is tabulated, the
    others named; records without a key are all kept."""
    row = {"dip": 900.0, "named": (), "warning": 100, "min_step": 1500}
    items = [record("p/a-seed1", experiment="k1", confirmed="extrapolation", **row),
             record("p/b-seed1", experiment="k2", **row),
             record("p/moderate-seed1", experiment="k1", **row),
             record("p/old-seed0", **row), record("p/old-seed1", **row)]  # fmt: skip
    kept, repeats = distinct(items)
    assert [r.run for r in kept] == ["p/a-seed1", "p/b-seed1", "p/old-seed0", "p/old-seed1"]
    assert repeats == [("p/moderate-seed1", "p/a-seed1")]
    out = report(items)
    assert out.startswith("counted once: p/moderate-seed1 is the same experiment as p/a-seed1\n")
    assert "verdict = truth in 1/4" in out


def test_a_run_recorded_twice_is_counted_once_with_its_ground_truth() -> None:
    """One run in two records (its rerun without confirmations first): the record with a
    ground truth is kept, in the first one's place, and the other is named as recorded twice."""
    items = [record("p/a-seed0", confirmed="?", experiment="k1"),
             record("p/b-seed0", confirmed="?", experiment="k2"),
             record("p/a-seed0", confirmed="extrapolation", experiment="k1")]  # fmt: skip
    kept, repeats = distinct(items)
    assert [(r.run, r.confirmed) for r in kept] == [
        ("p/a-seed0", "extrapolation"), ("p/b-seed0", "?")]  # fmt: skip
    assert repeats == [("p/a-seed0", "p/a-seed0")]
    assert "counted once: p/a-seed0 is recorded twice" in report(items)


def test_the_committed_records_give_the_documented_tables() -> None:
    """The offline part's record gives docs/results/diagnosis-suite.md's per-run table line for
    line, and the four confirmed parts its headline: the verdict names the confirmed cause in 26
    of 28."""
    docs = DOCS.read_text()
    offline = read_records(RESULTS / "diagnosis_suite_offline.jsonl")
    lines = [x for x in tables(offline).splitlines() if x.startswith("| diagnosis_suite_offline/")]
    assert len(lines) == 9 and all(line in docs for line in lines)
    kept, _ = distinct([r for path in sorted(RESULTS.glob("*.jsonl")) for r in read_records(path)])
    c = count(kept)
    assert (c.agree_caused, c.caused, c.degrading, c.in_time) == (26, 28, 36, 31)


@pytest.mark.slow
def test_the_suite_command_prints_the_documented_targets() -> None:
    """`python -m examples.diagnosis_suite --records ...`, the command
    docs/results/diagnosis-suite.md quotes, prints its table of the targets."""
    records = [str(p) for p in sorted(RESULTS.glob("*.jsonl"))]
    command = [sys.executable, "-m", "examples.diagnosis_suite", "--records", *records]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    targets = done.stdout.split("the targets, per part:\n\n")[1].splitlines()
    assert len(targets) == 12 and all(line in DOCS.read_text() for line in targets)


@pytest.mark.slow
def test_a_runs_record_holds_its_critic_stratum_and_evaluations(tmp_path: Path) -> None:
    """`collect_part` names a tiny run's record by its part and split; the record holds what
    the warning's metrics need: the critic's stratum, R0, the policy start and the curve."""
    from tests.conftest import TINY_ARGS, train_tiny
    from wsdiag.analysis.run import load_run
    from wsdiag.suite.collect import collect_part

    run_dir = train_tiny(tmp_path / "runs", [*TINY_ARGS, "--set", "probes.every=0"])
    run = load_run(run_dir)
    (r,) = collect_part(run_dir.parent, "part", split="dev")
    assert (r.run, r.split) == (f"part/{run_dir.name}", "dev")
    assert r.critic_loaded is False and r.policy_start == 100 == run.policy_start
    assert r.baseline == run.baseline and r.eval_steps[-1] == 300
    steps, returns = run.series("eval/return")
    assert list(r.eval_steps) == steps.tolist() and list(r.eval_returns) == returns.tolist()


def test_a_scenarios_runs_take_the_confirmation_of_the_one_confirmed(tmp_path: Path) -> None:
    """`scenario_confirmations`: each run without a confirmation of its own is given the first
    run of its scenario that has one; runs of a scenario without one get nothing."""
    from wsdiag.analysis.confirm import CONFIRMATION_FILE, FOLDER
    from wsdiag.suite.collect import own_dips, scenario_confirmations

    paths = [tmp_path / n for n in ("x-seed0", "x-seed1", "x-seed2", "y-seed0")]
    for p in (paths[1], paths[2]):
        (p / FOLDER).mkdir(parents=True)
        (p / FOLDER / CONFIRMATION_FILE).write_text("{}")
    assert scenario_confirmations(paths) == {paths[0]: paths[1], paths[2]: paths[1]}

    from wsdiag.analysis.confirm import Intervention

    i = Intervention("update", "lr", {}, seeds=[1, 2, 3], original_dips=[9, 9, 9], dips=[1, 2, 3])
    stronger = Intervention("update", "lr", {}, seeds=[1], original_dips=[9], dips=[0])
    assert own_dips([i, stronger]) == {"update": 1}  # the first strength's, on the first seed


def test_a_scenario_confirmed_once_keeps_its_confirmations_shares_and_truth() -> None:
    """The by-scenario table pools per-run dips only for scenarios confirmed run by run; one
    that `suite run` confirmed once shows that confirmation's shares, intervals and truth."""
    from wsdiag.suite.scenarios import scenarios

    confirmed = SuiteRecord("p/a-seed0", True, "extrapolation", "spiral", 900.0, 1000, 100,
                            shares={"spiral": 0.8, "update": 0.1},
                            intervals={"spiral": (0.7, 0.9), "update": (0.0, 0.2)},
                            dips={"spiral": 180.0}, seeds=6, truth="spiral")  # fmt: skip
    sibling = replace(confirmed, run="p/a-seed1", dips={}, truth_from="a-seed0", dip=5.0)
    (g,) = scenarios([confirmed, sibling])
    assert g.confirmed == "spiral" and len(g.runs) == 2
    assert (g.shares["spiral"].share, g.shares["spiral"].low, g.shares["spiral"].n) == (0.8, 0.7, 6)
    (alone,) = scenarios([confirmed])  # its siblings did not degrade: the same numbers
    assert alone.confirmed == "spiral" and alone.shares == g.shares


def test_a_records_sign_test_outcomes_are_read_before_its_shares(tmp_path: Path) -> None:
    """A record that holds its causes' sign-test outcomes is judged by them (a share of 60%
    [55, 65] over 10 seeds reads "confirmed" by the earlier bootstrap rule, while its sign test
    was inconclusive); one without them is read from its shares as before."""
    from wsdiag.suite.record import recorded_outcomes

    old = record(shares={"update": 0.6}, intervals={"update": (0.55, 0.65)}, seeds=10)
    new = replace(old, outcomes={"update": "inconclusive"})
    assert recorded_outcomes(old) == {"update": "confirmed"}
    assert recorded_outcomes(new) == {"update": "inconclusive"} and new.own == "not tested"
    write_records([new], tmp_path / "r.jsonl")
    assert read_records(tmp_path / "r.jsonl")[0].outcomes == {"update": "inconclusive"}
