"""The SB3 callback: a real SB3 fine-tune recorded into a run directory that `wsdiag report`
and `wsdiag diagnose` read, whose probes equal `wsdiag probe --checkpoint` on the same networks
and states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import trained_sb3
from wsdiag import probe_keys as keys
from wsdiag.analysis.run import load_run
from wsdiag.cli.main import app
from wsdiag.config import ProbesConfig
from wsdiag.probes.on_checkpoint import probe_checkpoint
from wsdiag.training.warm_start import PROBE_SEED_OFFSET

PROBES = {"states": 32, "n_perturb": 8, "landscape_perturb": 16}


@pytest.fixture(scope="module")
def sb3() -> Any:
    return pytest.importorskip("stable_baselines3", reason="pip install -e '.[sb3]'")


def fine_tune(sb3: Any, algo: str, zip_path: Path, run_dir: Path, steps: int = 300) -> Path:
    """`steps` steps of SB3's learn from the zip (100 random ones first), recorded."""
    from wsdiag.integrations.sb3 import WsdiagCallback

    model = getattr(sb3, algo).load(zip_path, env=gym.make("Pendulum-v1"), device="cpu")
    model.learning_starts = 100
    model.set_logger(sb3.common.logger.configure(str(run_dir.parent / "sb3-log"), []))
    callback = WsdiagCallback(run_dir, reference=zip_path, probe_every=100, eval_every=100,
                              eval_episodes=1, probes=PROBES)  # fmt: skip
    model.learn(steps, callback=callback)
    return run_dir


@pytest.mark.slow
def test_a_td3_fine_tune_is_reported_and_diagnosed(sb3: Any, tmp_path: Path) -> None:
    zip_path = trained_sb3(sb3, "TD3", tmp_path, policy_kwargs={"net_arch": [32, 32]})
    run_dir = fine_tune(sb3, "TD3", zip_path, tmp_path / "mine")
    run = load_run(run_dir)
    assert run.config.trainer == "sb3" and run.config.finetune.hidden == (32, 32)
    assert (run.policy_start, run.update_start) == (100, 100)
    assert run.config.warmstart.warmup_policy == "random"
    warm = next(e for e in run.events if e["event"] == "warm_start")
    assert warm["loaded"] == ["actor", "critic"]  # TD3.load brings the critics too
    steps, _ = run.series("eval/return")
    assert list(steps) == [0, 100, 200, 300]
    for command in (["diagnose", str(run_dir)], ["report", str(run_dir), "-q"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
    assert (run_dir / "report" / "report.html").exists()
    # The last probes equal wsdiag probe --checkpoint on the networks they saw, same states.
    cfg = ProbesConfig(**PROBES)
    again = probe_checkpoint(run_dir / "checkpoints" / "step_300", cfg=cfg,
                             seed=run.config.seed + PROBE_SEED_OFFSET, out=tmp_path / "again",
                             states=run_dir / "probes" / "probe_set.npz")  # fmt: skip
    assert again.reference == run_dir / "checkpoints" / "pretrained"
    recorded = json.loads((run_dir / "probes" / "step_300.json").read_text())["scalars"]
    behavioural = [keys.Q_PERCENTILE.name, keys.GRAD_NORM_POLICY.name + "/mean",
                   keys.pretrained(keys.Q_PERCENTILE), keys.GRAD_COS_POOLED_BEHAVIOUR.name,
                   keys.KL_BEHAVIOUR.name, keys.TD_ERROR_BEHAVIOUR.name]  # fmt: skip
    for key in behavioural:
        assert again.scalars[key] == pytest.approx(recorded[key], rel=1e-5, abs=1e-7), key


@pytest.mark.slow
@pytest.mark.parametrize(("algo", "recorded", "critics"), [("SAC", "sac", 2), ("DDPG", "ddpg", 1)])
def test_sac_and_ddpg_fine_tunes_are_recorded_with_their_settings(
    sb3: Any, tmp_path: Path, algo: str, recorded: str, critics: int
) -> None:
    zip_path = trained_sb3(sb3, algo, tmp_path, steps=150, policy_kwargs={"net_arch": [24, 24]})
    run_dir = fine_tune(sb3, algo, zip_path, tmp_path / "mine", steps=200)
    run = load_run(run_dir)
    fine = run.config.finetune
    assert (fine.algo, fine.hidden, fine.ensemble) == (recorded, (24, 24), critics)
    assert fine.autotune_alpha if algo == "SAC" else fine.expl_noise == 0.0  # SB3's defaults
    _, q = run.series(keys.metric(keys.Q_PERCENTILE))
    assert len(q) >= 3 and np.isfinite(q).all()
    result = CliRunner().invoke(app, ["diagnose", str(run_dir)])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_confirm_reruns_an_sb3_run_in_wsdiags_trainer(sb3: Any, tmp_path: Path) -> None:
    """The original is rerun on every seed, its own included (SB3 trained the recorded one),
    and the counterfactuals start from the same zip."""
    zip_path = trained_sb3(sb3, "TD3", tmp_path, policy_kwargs={"net_arch": [32, 32]})
    run_dir = fine_tune(sb3, "TD3", zip_path, tmp_path / "mine", steps=250)
    confirm = ["--confirm", "--force", "--causes", "update", "--seeds", "3", "--max-seeds", "3"]
    result = CliRunner().invoke(app, ["diagnose", str(run_dir), *confirm])
    assert result.exit_code == 0, result.output
    runs = run_dir / "counterfactual" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [
        *(f"original-seed{k}" for k in range(3)),
        *(f"update-seed{k}" for k in range(3)),
    ]
    rerun = load_run(runs / "original-seed0")
    assert rerun.config.trainer == "wsdiag" and rerun.config.pretrain.path == str(zip_path)
    confirmation = json.loads((run_dir / "counterfactual" / "confirmation.json").read_text())
    assert [i["cause"] for i in confirmation["interventions"]] == ["update"]
