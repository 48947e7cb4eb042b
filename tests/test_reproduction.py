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

from examples.reproduction import sparse_pendulum, tables
from examples.reproduction.claims import r1, r2, r3, r4
from examples.reproduction.common import Figures, dip, sweep_groups
from tests.conftest import tiny_config
from wsdiag.analysis.run import load_run
from wsdiag.envs import make_env
from wsdiag.errors import WsdiagError
from wsdiag.suite.collect import collect
from wsdiag.suite.paired import POOLED, load_with_pooled_cosine, paired_table
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
    metrics[metrics.key != POOLED].to_parquet(old / "metrics.parquet")
    want = load_run(recorded).series(POOLED)
    got = load_with_pooled_cosine(old).series(POOLED)
    assert len(want[0]) >= 2
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-6)
