"""The reproduction kit (docs/reproduction.md): the sparse-reward task of R8, every sweep file of
examples/sweeps/reproduction/ planned with all its configs checked, and the claims' tables and
figures computed from tiny real runs laid out as a sweep folder."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from examples import diagnosis_paired
from examples.diagnosis_paired import POOLED, load_with_pooled_cosine, paired_table
from examples.diagnosis_suite import rows
from examples.diagnosis_suite import tables as suite_tables
from examples.reproduction import sparse_pendulum, tables
from examples.reproduction.claims import r1, r2, r3, r4
from examples.reproduction.common import Figures, dip, sweep_groups
from tests.conftest import tiny_config
from wsdiag.analysis.run import load_run
from wsdiag.envs import make_env
from wsdiag.sweep.plan import build_plan
from wsdiag.sweep.spec import load_sweep
from wsdiag.training.experiment import Experiment

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = ROOT / "examples" / "sweeps" / "reproduction"


def test_the_sparse_pendulum_starts_down_and_rewards_only_upright_steps() -> None:
    env = make_env(sparse_pendulum.ENV_ID, imports=["examples.reproduction.sparse_pendulum"])
    total = 0.0
    for seed in range(3):
        env.reset(seed=seed)
        theta, speed = env.unwrapped.state
        assert abs(theta - math.pi) <= 0.1 and abs(speed) <= 0.1
        for _ in range(200):
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += reward
            if terminated or truncated:
                break
        assert truncated
    assert total == 0.0  # random torques never swing it up
    env.unwrapped.state = np.array([0.05, 0.0])  # upright
    assert env.step(np.zeros(1))[1] == 1.0
    env.unwrapped.state = np.array([math.radians(30), 0.0])
    assert env.step(np.zeros(1))[1] == 0.0


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pretrained Pendulum agent standing in for runs/repro-expert-seed0."""
    runs = tmp_path_factory.mktemp("guide")
    Experiment.create(tiny_config(), runs, progress="none").run(until="pretrain")
    return next(runs.glob("*-seed*"))


DATASETS = {
    "repro-expert-v0": "expert-v0",
    "repro-expert-random-30-v0": "expert-random-30-v0",
    "repro-expert-random-50-v0": "expert-v0",  # stand-ins: three distinct datasets
    "repro-expert-random-70-v0": "random-v0",
}


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_reproduction_sweep_plans_with_its_configs_checked(
    path: Path, tmp_path: Path, guide: Path, pendulum_datasets: dict[str, str]
) -> None:
    text = path.read_text().replace("runs/repro-expert-seed0", str(guide))
    for ours, test in DATASETS.items():
        text = text.replace(f"wsdiag/pendulum/{ours}", f"test/pendulum/{test}")
    copy = SWEEPS / f"_test_{path.name}"  # its base path is relative to the folder
    copy.write_text(text)
    try:
        plan = build_plan(load_sweep(copy), tmp_path / "out")
    finally:
        copy.unlink()
    seeds = {run.config.seed for run in plan.runs}
    assert plan.runs and len(seeds) >= 3 and seeds <= {0, 1, 2, 3, 4}


def _tiny_run(folder: Path, name: str, seed: int, **sections) -> None:
    config = tiny_config(seed=seed, probes={"every": 100, "n_perturb": 8}, **sections)
    config = replace(config, name=name)
    Experiment.create(config, folder / "runs", progress="none").run()


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("repro") / "repro-pendulum-td3"
    for seed in (0, 1):
        _tiny_run(folder, "plain", seed)
        _tiny_run(folder, "actor-critic", seed, warmstart={"load": ["actor", "critic"]})
        _tiny_run(folder, "ccl-pqd-1e-2", seed, mitigation={"name": "ccl_pqd"})
    shutil.copytree(folder / "runs" / "plain-seed0", folder / "runs" / "moderate-expert-seed0")
    return folder


def test_the_claims_tables_come_from_the_runs(sweep_folder: Path, tmp_path: Path) -> None:
    groups = sweep_groups(sweep_folder)
    assert sorted(groups) == ["actor-critic", "ccl-pqd-1e-2", "moderate-expert", "plain"]
    assert [run.config.seed for run in groups["plain"]] == [0, 1]
    plain = groups["plain"][0]
    d = dip(plain)
    assert d.start_step == plain.update_start and d.dip == max(0.0, d.baseline - d.min_return)
    figures = Figures(tmp_path)
    one = r1(groups, figures)
    assert one[0].startswith("| variant |") and any(r.startswith("| plain | 2 |") for r in one)
    assert any(line.startswith("P(actor-critic better than plain)") for line in one)
    two = "\n".join(r2(groups, figures))
    assert "| pretrained critic | unclipped (authors) |" in two
    assert "| new critic untrained (plain, step 0) | truncate (default) |" in two
    three = "\n".join(r3(groups, figures))
    assert "| moderate-expert |" in three and "P(plain better than moderate-expert)" in three
    four = r4(groups, figures)
    assert sum(line.endswith("| yes |") for line in four) >= 1  # the front is never empty
    for name in ("r1", "r2", "r3", "r4"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    other = r1(groups, Figures(tmp_path, "ip-"))  # a second sweep's figure of the same claim
    assert other[-1] == "![ip-r1](img/reproduction/ip-r1.png)"
    assert (tmp_path / "ip-r1.png").stat().st_size > 1000


def test_the_tables_refuse_a_folder_without_reproduction_sweeps(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        tables.main([str(tmp_path)])
    assert done.value.code == 2
    assert capsys.readouterr().err.startswith("error: no reproduction sweep under")


def test_the_paired_diagnosis_reads_the_sweeps_own_counterfactual(sweep_folder: Path) -> None:
    runs = sweep_folder / "runs"
    table = paired_table(runs, "plain", "actor-critic", "extrapolation").splitlines()
    items = {r["run"]: r for r in rows(runs)}
    assert items["plain-seed0"]["versions"]["torch"].startswith("2.")  # from its meta.json
    for seed in (0, 1):
        d, d2 = items[f"plain-seed{seed}"]["dip"], items[f"actor-critic-seed{seed}"]["dip"]
        (line,) = [x for x in table if x.startswith(f"| {seed} |")]
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[2:4] == [f"{d:.0f}", f"{d2:.0f}"]
        if d > 0:
            assert cells[4] == f"{100 * (1 - d2 / d):.0f}%"
    assert any(x.startswith("share of the dip removed by actor-critic: ") for x in table)
    with pytest.raises(SystemExit, match="no seed has both"):
        paired_table(runs, "plain", "nothing", "extrapolation")


def test_the_paired_diagnosis_refuses_a_folder_that_is_no_sweep(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        diagnosis_paired.main([str(tmp_path)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith("is not a sweep folder (no runs/ in it)")


def test_the_pooled_cosine_backfilled_from_the_arrays_is_the_recorded_one(
    sweep_folder: Path, tmp_path: Path
) -> None:
    recorded = sweep_folder / "runs" / "plain-seed0"
    old = tmp_path / "plain-seed0"  # the same run as if recorded before the probe existed
    shutil.copytree(recorded, old)
    metrics = pd.read_parquet(old / "metrics.parquet")
    metrics[metrics.key != POOLED].to_parquet(old / "metrics.parquet")
    want = load_run(recorded).series(POOLED)
    got = load_with_pooled_cosine(old).series(POOLED)
    assert len(want[0]) >= 2
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-6)


def test_the_suite_tables_count_verdicts_warnings_and_false_alarms() -> None:
    def item(run, significant, verdict, confirmed, warning, min_step, named=None):
        return {"run": run, "significant": significant, "verdict": verdict, "confirmed": confirmed,
                "named": named if named is not None else [verdict], "warning": warning,
                "min_step": min_step, "dip": 100.0 if significant else 0.0}  # fmt: skip

    items = [
        item("a", True, "extrapolation", "extrapolation", 1100, 2000),
        item("b", True, "gradient", "spiral", 2000, 2000, ["gradient", "spiral"]),  # not in time
        item("c", True, "extrapolation", "none", None, 1500),
        item("f", True, "gradient", "?", 1100, 2000),  # not confirmed yet: no ground truth
        item("d", False, "none", "none", 1100, 1000),  # a false alarm
        item("e", False, "none", "none", None, 1000),
    ]
    text = suite_tables(items)
    assert text.splitlines()[0] == ("runs: 6, significantly degrading: 4 (with a ground truth: "
                                    "3); verdict = truth in 1/3 (the truth named among its "
                                    "causes: 2)")  # fmt: skip
    assert "non-degrading runs: 2, called degrading: 0" in text
    warned = "early warning before the lowest return: 2/4, median lead 900 steps; false alarms 1/2"
    assert warned in text
    assert "| verdict \\ truth | extrapolation | spiral | none | inconclusive |" in text
    assert "| extrapolation | 1 | 0 | 1 | 0 |" in text
    assert "| gradient | 0 | 1 | 0 | 0 |" in text


def test_a_runs_truth_is_none_only_when_every_intervention_is_refuted() -> None:
    """From a record's shares and intervals: a cause is refuted when its interval (two seeds or
    more) lies below half; a one-seed share, or an interval reaching half, is inconclusive."""
    from examples.diagnosis_suite import recorded_truth, tables

    def row(shares, intervals, seeds=3, confirmed="none"):
        return {"run": "p/a-seed0", "significant": True, "verdict": "extrapolation",
                "confirmed": confirmed, "shares": shares, "intervals": intervals,
                "seeds": seeds, "dip": 500.0, "warning": None, "min_step": 900}  # fmt: skip

    refuted = row({"extrapolation": 0.2, "drift": 0.08, "spiral": None},
                  {"extrapolation": [0.13, 0.31], "drift": [0.04, 0.12]})  # fmt: skip
    assert recorded_truth(refuted) == "none"
    unsure = row({"extrapolation": 0.47, "drift": 0.35},
                 {"extrapolation": [0.36, 0.59], "drift": [0.15, 0.51]})  # fmt: skip
    assert recorded_truth(unsure) == "inconclusive"
    assert recorded_truth(row({"extrapolation": 0.44}, {}, seeds=1)) == "inconclusive"
    confirmed = row({"extrapolation": 0.63}, {"extrapolation": [0.38, 0.94]},
                    confirmed="extrapolation")  # fmt: skip
    assert recorded_truth(confirmed) == "extrapolation"
    assert recorded_truth({**refuted, "significant": False}) == "none"
    assert recorded_truth({**refuted, "confirmed": "?"}) == "?"
    text = tables([refuted, unsure, confirmed])
    assert ("ground truth: 1 confirmed, 1 none (every intervention refuted), 1 inconclusive; "
            "verdict = truth where a cause is confirmed: 1/1, where the truth is decided: "
            "1/2") in text  # fmt: skip
    assert ("the verdict's own intervention: 1 confirmed, 1 refuted, 1 inconclusive, "
            "0 not tested") in text  # fmt: skip
    assert "| extrapolation | 1 | 1 | 1 |" in text


def test_a_repeated_experiment_is_counted_once(capsys, monkeypatch, tmp_path: Path) -> None:
    """Rows with one `experiment` key are one experiment: the first is tabulated, the others
    named; rows recorded without a key are all kept."""
    from examples import diagnosis_suite

    row = {"significant": True, "verdict": "extrapolation", "dip": 900.0, "named": [],
           "confirmed": "none", "warning": 100, "min_step": 1500, "shares": {}}  # fmt: skip
    items = [{**row, "run": "p/a-seed1", "experiment": "k1", "confirmed": "extrapolation"},
             {**row, "run": "p/b-seed1", "experiment": "k2"},
             {**row, "run": "p/moderate-seed1", "experiment": "k1"},
             {**row, "run": "p/old-seed0"}, {**row, "run": "p/old-seed1"}]  # fmt: skip
    kept, repeats = diagnosis_suite.distinct(items)
    assert [r["run"] for r in kept] == ["p/a-seed1", "p/b-seed1", "p/old-seed0", "p/old-seed1"]
    assert repeats == [("p/moderate-seed1", "p/a-seed1")]
    record = tmp_path / "part.jsonl"
    diagnosis_suite.write_record(items, record)
    monkeypatch.setattr("sys.argv", ["diagnosis_suite", "--records", str(record)])
    diagnosis_suite.main()
    out = capsys.readouterr().out
    assert "counted once: p/moderate-seed1 is the same experiment as p/a-seed1" in out
    assert "verdict = truth in 1/4" in out


def test_a_run_recorded_twice_is_counted_once_with_its_ground_truth(
    capsys, monkeypatch, tmp_path: Path
) -> None:
    """One run in two records (its rerun without confirmations first): the row with a ground
    truth is kept, in the first row's place, and the other is named as recorded twice."""
    from examples import diagnosis_suite

    row = {"significant": True, "verdict": "extrapolation", "dip": 900.0, "named": [],
           "warning": 100, "min_step": 1500, "shares": {}, "experiment": "k1"}  # fmt: skip
    items = [{**row, "run": "p/a-seed0", "confirmed": "?"},
             {**row, "run": "p/b-seed0", "confirmed": "?", "experiment": "k2"},
             {**row, "run": "p/a-seed0", "confirmed": "extrapolation"}]  # fmt: skip
    kept, repeats = diagnosis_suite.distinct(items)
    assert [(r["run"], r["confirmed"]) for r in kept] == [
        ("p/a-seed0", "extrapolation"), ("p/b-seed0", "?")]  # fmt: skip
    assert repeats == [("p/a-seed0", "p/a-seed0")]
    record = tmp_path / "part.jsonl"
    diagnosis_suite.write_record(items, record)
    monkeypatch.setattr("sys.argv", ["diagnosis_suite", "--records", str(record)])
    diagnosis_suite.main()
    assert "counted once: p/a-seed0 is recorded twice" in capsys.readouterr().out


def test_the_suite_confirms_each_experiment_once(tmp_path: Path, monkeypatch, capsys) -> None:
    """`run_suite` sweeps, then confirms every finished run but the repeats of an earlier
    experiment, one job each; a run without a key (its checkpoint not found) is confirmed."""
    from examples import diagnosis_suite

    runs = tmp_path / "diagnosis_suite_ip" / "runs"
    for name in ("a", "b", "c"):
        (runs / name).mkdir(parents=True)
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(diagnosis_suite, "_wsdiag", lambda *a: calls.append(a) or 0)
    monkeypatch.setattr(diagnosis_suite, "is_complete", lambda p: True)
    monkeypatch.setattr(diagnosis_suite, "load_run", lambda p: p)
    monkeypatch.setattr(
        diagnosis_suite, "experiment_key", lambda p: {"a": "k", "b": "k"}.get(p.name)
    )
    suite = Path(__file__).parent.parent / "examples" / "sweeps" / "diagnosis_suite_ip.toml"
    diagnosis_suite.run_suite(suite, tmp_path, jobs=2, seeds=3, until_confirmed=True)
    assert calls[0][0] == "sweep"
    confirmed = sorted(Path(c[1]).name for c in calls[1:])
    assert confirmed == ["a", "c"]
    assert all(c[-3:] == ("--jobs", "1", "--until-confirmed") for c in calls[1:])
    assert "not confirmed: b is the same experiment as a" in capsys.readouterr().out


def test_the_suite_tables_come_again_from_a_record(tmp_path: Path, capsys, monkeypatch) -> None:
    """`--record` keeps the rows (shares included) as JSON lines; `--records` tabulates them
    without the runs, and a file that is no record is refused in one line."""
    from examples import diagnosis_suite

    items = [
        {"run": "p/a-seed0", "significant": True, "verdict": "extrapolation", "dip": 933.4,
         "confirmed": "extrapolation", "named": ["extrapolation"], "warning": 100,
         "min_step": 1500, "shares": {"extrapolation": 0.68, "drift": 0.07, "spiral": None},
         "intervals": {"extrapolation": [0.38, 0.94]}},  # a 3-seed truth keeps its interval
        {"run": "p/b-seed0", "significant": False, "verdict": "none", "dip": 0.0,
         "confirmed": "none", "named": [], "warning": None, "min_step": 900, "shares": {}},
    ]  # fmt: skip
    record = tmp_path / "results" / "part.jsonl"
    diagnosis_suite.write_record(items, record)
    assert diagnosis_suite.read_record(record) == [
        {**items[0], "truth": "extrapolation"},
        {**items[1], "truth": "none"},
    ]
    monkeypatch.setattr("sys.argv", ["diagnosis_suite", "--records", str(record)])
    diagnosis_suite.main()
    out = capsys.readouterr().out
    assert "verdict = truth in 1/1" in out
    assert "| run | degrading | dip | verdict | truth | extrapolation | spiral | drift |" in out
    row = "| p/a-seed0 | yes | 933 | extrapolation | extrapolation | 68% [38, 94] |  | 7% | 100 |"
    assert row in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    monkeypatch.setattr("sys.argv", ["diagnosis_suite", "--records", str(bad)])
    with pytest.raises(SystemExit) as exit_info:
        diagnosis_suite.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}: not a suite record") and "\n" not in err


def test_the_scenario_tables_pool_each_cause_over_the_degrading_seeds() -> None:
    """s = 1 - mean D'/mean D over a scenario's degrading seeds, D' from the recorded dips (or
    D (1 - share) in records without them); the earliest cause it confirms is the truth of each
    of the scenario's runs."""
    from examples.diagnosis_suite import scenario, scenario_rows, scenario_tables

    def item(run, verdict, dip, shares, dips=None, significant=True):
        extra = {"dips": dips} if dips else {}
        return {"run": run, "significant": significant, "verdict": verdict, "dip": dip,
                "confirmed": "none", "shares": shares, **extra}  # fmt: skip

    items = [
        item("p/a-seed0", "extrapolation", 100.0, {"extrapolation": 1.0, "drift": 0.8}),
        item("p/a-seed1", "drift", 300.0, {"extrapolation": 0.0, "drift": 0.5},
             dips={"extrapolation": 300.0, "drift": 30.0}),  # the dips win over the shares
        item("p/a-seed2", "none", 5.0, {}, significant=False),  # not degrading: not pooled
        item("p/b-seed0", "update", 50.0, {"update": 0.2}),
    ]  # fmt: skip
    assert scenario("p/a-seed12") == "p/a"
    groups = {g["scenario"]: g for g in scenario_rows(items)}
    assert set(groups) == {"p/a", "p/b"} and len(groups["p/a"]["runs"]) == 2
    a = groups["p/a"]["shares"]
    assert a["extrapolation"].share == pytest.approx(1 - 150 / 200)  # D' = 0, 300
    assert a["drift"].share == pytest.approx(1 - 25 / 200) and a["drift"].n == 2  # D' = 20, 30
    assert a["drift"].low > 0
    assert groups["p/a"]["confirmed"] == "drift"
    assert groups["p/b"]["confirmed"] == "inconclusive"  # one seed: 20% cannot refute
    text = scenario_tables(items)
    assert "verdict = the scenario's confirmed cause in 1/3" in text
    assert "| p/a | 2 | extrapolation, drift | 25% [0, 100] |  | 88% [" in text


def test_the_suite_refuses_a_missing_file_or_run_in_one_line(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from examples import diagnosis_suite

    for argv, says in (
        ([str(tmp_path / "nope.toml")], "error: "),
        ([str(diagnosis_suite.SUITE), "--seeds", "0"], "error: --seeds must be >= 1"),
        (
            [str(diagnosis_suite.SUITE), "--out", str(tmp_path), "--table-only"],
            "error: nothing ran of",
        ),
    ):
        monkeypatch.setattr("sys.argv", ["diagnosis_suite", "--suite", *argv])
        with pytest.raises(SystemExit) as exit_info:
            diagnosis_suite.main()
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(says) and "\n" not in err


def test_the_targets_are_counted_per_part_and_over_all() -> None:
    """Agreement over confirmed causes, decided truths and every degrading run; the verdict's
    own outcome; false calls, in-time warnings, false alarms and the median lead, per part."""
    from examples.diagnosis_suite import judged
    from examples.suite_targets import count, targets_table

    def row(run, verdict, shares, intervals, warning, significant=True, confirmed="none"):
        return {"run": run, "significant": significant, "verdict": verdict, "shares": shares,
                "intervals": intervals, "seeds": 3, "confirmed": confirmed, "dip": 500.0,
                "warning": warning, "min_step": 1000}  # fmt: skip

    rows = judged([
        row("a/x-seed0", "extrapolation", {"extrapolation": 0.9}, {"extrapolation": [0.7, 1.0]},
            300, confirmed="extrapolation"),
        row("a/x-seed1", "extrapolation", {"extrapolation": 0.2}, {"extrapolation": [0.1, 0.3]},
            1200),
        row("a/y-seed0", "none", {}, {}, 100, significant=False),
        row("b/x-seed0", "update", {"spiral": 0.8}, {"spiral": [0.6, 0.9]}, 500,
            confirmed="spiral"),
        row("b/y-seed0", "none", {}, {}, None, significant=False),
    ])  # fmt: skip
    every = count(rows)
    assert (every.degrading, every.agree, every.caused, every.agree_caused) == (3, 1, 2, 1)
    assert (every.decided, every.agree_decided) == (3, 1)
    assert every.own == {"confirmed": 1, "refuted": 1, "not tested": 1}
    assert (every.others, every.called, every.in_time, every.alarms) == (2, 0, 2, 1)
    assert every.leads == [500, 700] and every.median_lead == 700
    text = targets_table(rows)
    assert "| | a | b | all | target |" in text
    lines = text.splitlines()
    agreement = "| verdict = the run's confirmed cause, where one is |"
    assert next(x for x in lines if x.startswith(agreement)).endswith(
        "| 1 / 1 | 0 / 1 | **1 / 2 (50%)** | >= 80% |"
    )
    assert "| false alarms | 1 / 1 | 0 / 1 | **1 / 2 (50%)** | <= 20% |" in text
    own = "| the verdict's own intervention: confirmed / refuted / inconclusive / not tested |"
    assert next(x for x in lines if x.startswith(own)).endswith(
        "| 1 / 1 / 0 / 0 | 0 / 0 / 0 / 1 | 1 / 1 / 0 / 1 |  |"
    )
