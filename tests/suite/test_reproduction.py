"""The reproduction kit (docs/reproduction.md): the sparse-reward task of R8, every sweep file of
examples/sweeps/reproduction/ planned with all its configs checked, the claims' tables and
figures made by its script from tiny real runs laid out as a sweep folder, and the diagnosis
checked against a sweep's own counterfactual (wsdiag.suite.paired)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import tiny_config
from wsdiag import probe_keys as keys
from wsdiag.analysis.aggregates import improvement_estimate, iqm_estimate
from wsdiag.analysis.run import load_run
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.envs import make_env
from wsdiag.errors import WsdiagError
from wsdiag.rundir import SWEEP_FILE
from wsdiag.suite.collect import collect
from wsdiag.suite.paired import load_with_pooled_cosine, paired_table
from wsdiag.sweep.plan import build_plan
from wsdiag.sweep.spec import load_sweep
from wsdiag.training.experiment import Experiment

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = ROOT / "examples" / "sweeps" / "reproduction"


def test_the_sparse_pendulum_starts_down_and_rewards_only_upright_steps() -> None:
    """R8's task, made as its sweep file names it (`env.id` after `env.imports`)."""
    settings = tomllib.loads((SWEEPS / "jsrl_sparse.toml").read_text())["set"]
    env = make_env(settings["env.id"], imports=settings["env.imports"])
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


MIN_SEEDS = {"jsrl_sparse.toml": 10}  # R8's outcome (a seed learns or not) is binary


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_reproduction_sweep_plans_with_its_configs_checked(
    path: Path, tmp_path: Path, guide: Path, pendulum_datasets: dict[str, str]
) -> None:
    text = path.read_text().replace("{out}/repro-expert-seed0", str(guide))
    for ours, test in DATASETS.items():
        text = text.replace(f"wsdiag/pendulum/{ours}", f"test/pendulum/{test}")
    copy = SWEEPS / f"_test_{path.name}"  # its base path is relative to the folder
    copy.write_text(text)
    try:
        plan = build_plan(load_sweep(copy), tmp_path / "out")
    finally:
        copy.unlink()
    seeds: dict[str, set[int]] = {}
    for run in plan.runs:
        seeds.setdefault(run.name.rsplit("-seed", 1)[0], set()).add(run.config.seed)
    fewest = MIN_SEEDS.get(path.name, 5)  # every variant; a binary outcome needs more
    assert plan.runs and all(len(s) >= fewest for s in seeds.values()), seeds


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
    jobs = {p.name: {"seconds": 1.0} for p in (folder / "runs").iterdir()}
    (folder / SWEEP_FILE).write_text(json.dumps({"jobs": jobs}))  # its plan: every run
    return folder


def _tables(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "examples.reproduction.tables", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


@pytest.mark.slow
def test_the_claims_tables_come_from_the_runs(sweep_folder: Path, tmp_path: Path) -> None:
    """`python -m examples.reproduction.tables RUNS` prints R1-R4 with the package's dips and
    draws their figures."""
    done = _tables(str(sweep_folder.parent), "--img", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("## R1-R4: repro-pendulum-td3 (")
    plain = [load_run(p) for p in sorted((sweep_folder / "runs").glob("plain-seed*"))]
    dips = [summarise(r, Thresholds()).diagnosis.degradation.dip for r in plain]
    (row,) = [x for x in out.splitlines() if x.startswith("| plain | 2 |")]
    assert row.split(" | ")[4].split(" [")[0] == f"{iqm_estimate(np.array(dips)).value:.0f}"
    assert "\nP(actor-critic better than plain) = " in out
    assert "| pretrained critic | unclipped (authors) |" in out
    assert "| new critic untrained (plain, step 0) | truncate (default) |" in out
    assert "| moderate-expert |" in out and "P(plain better than moderate-expert)" in out
    assert sum(line.endswith("| yes |") for line in out.splitlines()) >= 1  # a Pareto front
    for name in ("r1", "r2", "r3", "r4"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
        assert f"![{name}](img/reproduction/{name}.png)" in out


def test_the_record_takes_each_sweeps_parts_and_keeps_the_others(
    sweep_folder: Path, tmp_path: Path
) -> None:
    """`tables RUNS --record FILE` replaces the parts its sweeps measure, computed from their
    runs with what the compared variants differ in, keeps every other part, and prints the
    verdicts."""
    record = tmp_path / "claims.json"
    old = {"claim": "R1", "part": "Pendulum smaller dip with the critic", "says": "s",
           "kind": "point", "x": {"label": "a", "estimate": 1}, "y": {"label": "b", "estimate": 0},
           "source": "transcribed, not rerun"}  # fmt: skip
    kept = {**old, "claim": "R8", "part": "JSRL learns more often than TD3"}
    record.write_text(json.dumps({"entries": [kept, old]}))
    done = _tables(str(sweep_folder.parent), "--img", str(tmp_path), "--record", str(record))
    assert done.returncode == 0, done.stderr
    entries = json.loads(record.read_text())["entries"]
    parts = {(e["claim"], e["part"]): e for e in entries}
    assert parts[("R8", kept["part"])] == kept
    assert [e["claim"] for e in entries] == sorted(e["claim"] for e in entries)
    new = parts[("R1", old["part"])]
    assert new["kind"] == "effect" and new["null"] == 0.5
    assert new["source"].startswith("sweep repro-pendulum-td3, computed from its runs")
    assert new["differences"] == ["warmstart.load: ['actor', 'critic'] vs ['actor']"]
    plain = [load_run(p) for p in sorted((sweep_folder / "runs").glob("plain-seed*"))]
    critic = [load_run(p) for p in sorted((sweep_folder / "runs").glob("actor-critic-seed*"))]
    dips = [
        [summarise(r, Thresholds()).diagnosis.degradation.dip for r in g] for g in (critic, plain)
    ]
    p_smaller = improvement_estimate(-np.array(dips[0]), -np.array(dips[1]))
    assert new["estimate"] == pytest.approx(p_smaller.value, abs=1e-3)
    for claim, part in [("R1", "Pendulum more seeds recover with the critic"),
                        ("R2", "Pendulum pretrained above fresh"), ("R3", "Pendulum deeper dip"),
                        ("R4", "lowest return 1e-2"), ("R4", "CVaR 1e-2")]:  # fmt: skip
        assert (claim, part) in parts
    assert "\n| R1 | **" in done.stdout and "\n| R8 | **inconclusive** (" in done.stdout


def test_a_sweep_with_unfinished_runs_is_skipped_not_recorded(
    sweep_folder: Path, tmp_path: Path
) -> None:
    """A sweep whose plan holds a run not finished gives no section, figure or record part: its
    parts would be measured on fewer seeds than the page says."""
    runs = tmp_path / "runs"
    shutil.copytree(sweep_folder, runs / sweep_folder.name)
    plan = json.loads((runs / sweep_folder.name / SWEEP_FILE).read_text())
    plan["jobs"]["plain-seed2"] = {"kind": "finetune", "seconds": None}
    (runs / sweep_folder.name / SWEEP_FILE).write_text(json.dumps(plan))
    record = tmp_path / "claims.json"
    record.write_text(json.dumps({"entries": []}))
    done = _tables(str(runs), "--img", str(tmp_path / "img"), "--record", str(record))
    assert done.returncode == 0, done.stderr
    assert "1 of 8 runs not finished (plain-seed2): skipped" in done.stdout
    assert "### R1" not in done.stdout and not (tmp_path / "img").exists()
    assert json.loads(record.read_text())["entries"] == []


def test_the_tables_refuse_a_folder_without_reproduction_sweeps(tmp_path: Path) -> None:
    done = _tables(str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: no reproduction sweep under")


def test_the_paired_diagnosis_reads_the_sweeps_own_counterfactual(sweep_folder: Path) -> None:
    runs = sweep_folder / "runs"
    table = paired_table(runs, "plain", "actor-critic", "extrapolation").splitlines()
    items = {r.run: r for r in collect(runs)}
    assert items["plain-seed0"].versions["torch"].startswith("2.")  # from its meta.json
    for seed in (0, 1):
        d, d2 = items[f"plain-seed{seed}"].dip, items[f"actor-critic-seed{seed}"].dip
        (line,) = [x for x in table if x.startswith(f"| {seed} |")]
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[2:4] == [f"{d:.0f}", f"{d2:.0f}"]
        if d > 0:
            assert cells[4] == f"{100 * (1 - d2 / d):.0f}%"
    assert any(x.startswith("share of the dip removed by actor-critic: ") for x in table)
    with pytest.raises(WsdiagError, match="no seed has both"):
        paired_table(runs, "plain", "nothing", "extrapolation")


def test_the_pooled_cosine_backfilled_from_the_arrays_is_the_recorded_one(
    sweep_folder: Path, tmp_path: Path
) -> None:
    recorded = sweep_folder / "runs" / "plain-seed0"
    old = tmp_path / "plain-seed0"  # the same run as if recorded before the probe existed
    shutil.copytree(recorded, old)
    metrics = pd.read_parquet(old / "metrics.parquet")
    pooled = keys.metric(keys.GRAD_COS_POOLED_BEHAVIOUR)
    metrics[metrics.key != pooled].to_parquet(old / "metrics.parquet")
    want = load_run(recorded).series(pooled)
    got = load_with_pooled_cosine(old).series(pooled)
    assert len(want[0]) >= 2
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-6)


def test_a_compared_path_is_shown_by_its_last_part_never_the_machine_s_folders() -> None:
    from types import SimpleNamespace

    from examples.reproduction.record import differences

    def run(path: str, target: float) -> SimpleNamespace:
        config = {"name": "x", "seed": 0, "pretrain": {"path": path, "target_return": target}}
        return SimpleNamespace(config_dict=config)

    a = run("/home/someone/runs/repro/pretrained/24881079cb72-seed0", -250.0)
    b = run("/home/someone/runs/repro/pretrained/49ba43b810e7-seed0", -600.0)
    assert differences([a], [b]) == [
        "pretrain.path: 24881079cb72-seed0 vs 49ba43b810e7-seed0",
        "pretrain.target_return: -250.0 vs -600.0",
    ]
