"""A counterfactual run that starts where its original's policy updates begin repeats, step
for step, the full run with its intervention."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import tiny_config
from wsdiag.rundir import read_events, read_metrics
from wsdiag.sweep.counterfactual import BRANCHING_MITIGATIONS, branches
from wsdiag.training.branch import branch_run, branch_step
from wsdiag.training.experiment import Experiment

# 50-step episodes: the warm-up (100) and freeze (50) end on an episode end at step 150
BASE = {"env": {"id": "Pendulum-v1", "max_episode_steps": 50}, "probes": {"every": 100}}


def _online(run_dir: Path) -> pd.DataFrame:
    """The online stage's rows but the mitigation's constants and the wall-clock rates."""
    frame = read_metrics(run_dir)
    keep = (frame.phase != "pretrain") & ~frame.key.str.startswith(("mitigation/", "time/"))
    return frame[keep].sort_values(["step", "key"]).reset_index(drop=True)


def _original(folder: Path, algo: str) -> Path:
    config = tiny_config(**BASE, finetune={"algo": algo})
    return Experiment.create(config, folder, progress="none").run()


@pytest.mark.slow
@pytest.mark.parametrize("mitigation", BRANCHING_MITIGATIONS)
def test_a_branched_run_equals_the_full_run_with_its_intervention(
    tmp_path: Path, mitigation: str
) -> None:
    algo = "td3bc" if mitigation == "critic_weighted" else "td3"  # it weights TD3+BC's term
    original = _original(tmp_path / "original", algo)
    assert branch_step(original) == 150
    changed = tiny_config(**BASE, finetune={"algo": algo}, mitigation={"name": mitigation})
    full = Experiment.create(changed, tmp_path / "full", progress="none").run()
    branched = tmp_path / "branched" / "run"
    assert branch_run(original, branched, changed) == 150
    Experiment.resume(branched, progress="none").run()
    pd.testing.assert_frame_equal(_online(branched), _online(full))
    events = [e["event"] for e in read_events(branched)]
    assert events.count("branched") == 1 and events[-1] == "end"


def test_only_interventions_on_policy_updates_branch() -> None:
    assert branches({"mitigation.name": "bc_penalty"})
    assert not branches({"mitigation.name": "gradient_penalty"})  # the critic from step 0
    assert not branches({"warmstart.warmup_steps": 4000})
    assert not branches({"mitigation.name": "lr_scale", "warmstart.load": ["actor", "critic"]})
