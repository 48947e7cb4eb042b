"""The warm-start protocol end to end on Pendulum-v1 with tiny budgets."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.conftest import tiny_config
from wsdiag.agents import ActorCritic, make_agent
from wsdiag.agents.checkpoint import load_checkpoint
from wsdiag.config import AgentConfig, Config
from wsdiag.errors import NonFiniteError, WsdiagError
from wsdiag.training.callbacks import Callback
from wsdiag.training.experiment import Experiment
from wsdiag.training.loop import Loop
from wsdiag.training.recorder import read_events, read_metrics


def _run(config: Config, runs: Path, **kwargs) -> Path:
    return Experiment.create(config, runs, progress="none", **kwargs).run()


def _comparable(run_dir: Path):
    frame = read_metrics(run_dir)
    return frame[~frame.key.str.startswith("time/")].reset_index(drop=True)


def test_protocol_records_phases_warm_start_and_baseline(tiny: Config, runs: Path) -> None:
    run_dir = _run(tiny, runs)
    events = read_events(run_dir)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    phases = [(e["stage"], e["phase"], e["step"]) for e in events if e["event"] == "phase"]
    assert phases == [
        ("pretrain", "pretrain", 0),
        ("online", "warmup", 0),
        ("online", "freeze", 100),
        ("online", "finetune", 150),
    ]
    warm = next(e for e in events if e["event"] == "warm_start")
    assert warm["loaded"] == ["actor", "actor_target"] and warm["transitions"] == 0
    frame = read_metrics(run_dir)
    baseline = frame[frame.key == "eval/baseline_return"]
    assert len(baseline) == 1 and baseline.step.item() == 0
    pre_evals = frame[(frame.key == "eval/return") & (frame.phase == "pretrain")]
    assert baseline.value.item() == pytest.approx(pre_evals.value.iloc[-1])  # same policy, seeds
    assert set(frame.phase) == {"pretrain", "warmup", "freeze", "finetune"}
    assert {"train/critic_loss", "train/actor_loss", "rollout/return"} <= set(frame.key)
    assert (run_dir / "checkpoints" / "pretrained" / "agent.pt").exists()
    assert (run_dir / "checkpoints" / "step_400" / "agent.pt").exists()
    assert (run_dir / "checkpoints" / "latest").resolve().name == "step_400"
    assert not list((run_dir / "checkpoints").glob("pretrain_step_*"))


def test_warmup_updates_critic_but_not_actor(runs: Path) -> None:
    config = tiny_config(warmstart={"warmup_steps": 400, "freeze_policy_steps": 0})
    run_dir = _run(config, runs)
    frame = read_metrics(run_dir)
    online = frame[frame.phase == "warmup"]
    assert "train/critic_loss" in set(online.key) and "train/actor_loss" not in set(online.key)
    pre = load_checkpoint(run_dir / "checkpoints" / "pretrained").agent_state["actor"]
    final = load_checkpoint(run_dir / "checkpoints" / "step_400").agent_state["actor"]
    assert all(torch.equal(pre[k], final[k]) for k in pre)


@pytest.mark.slow
def test_same_seed_same_metrics(tiny: Config, runs: Path) -> None:
    a, b = _run(tiny, runs), _run(tiny, runs)
    assert a != b
    assert _comparable(a).equals(_comparable(b))


@pytest.mark.slow
def test_sac_and_buffer_and_critic_warm_start(runs: Path) -> None:
    config = tiny_config(
        pretrain={"algo": "sac"},
        finetune={"algo": "sac", "utd": 2},
        warmstart={"load": ["actor", "critic", "buffer"], "load_optimizers": True},
    )
    run_dir = _run(config, runs)
    warm = next(e for e in read_events(run_dir) if e["event"] == "warm_start")
    assert set(warm["loaded"]) >= {"actor", "critic", "critic_opt", "log_alpha", "buffer"}
    assert warm["transitions"] == 400
    assert "train/alpha" in set(read_metrics(run_dir).key)


@pytest.mark.slow
def test_finetune_from_saved_pretrained_checkpoint_equals_in_process(
    tiny: Config, runs: Path
) -> None:
    full = _run(tiny, runs)
    pre_only = Experiment.create(tiny, runs, progress="none").run(until="pretrain")
    assert not (pre_only / "checkpoints" / "step_400").exists()
    from_ckpt = tiny_config(pretrain={"source": "checkpoint", "path": str(pre_only)})
    finetuned = _run(from_ckpt, runs)
    online = lambda d: _comparable(d)[lambda f: f.phase != "pretrain"].reset_index(drop=True)  # noqa: E731
    assert online(full).equals(online(finetuned))


class _Crash(Callback):
    """Simulates a killed process at a given step of the online stage."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_env_step(self, loop: Loop) -> None:
        if loop.stage == "online" and loop.step == self.step:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_resume_after_interruption_gives_a_continuous_table(tiny: Config, runs: Path) -> None:
    exp = Experiment.create(tiny, runs, progress="none", callbacks=[_Crash(330)])
    with pytest.raises(KeyboardInterrupt):
        exp.run()
    run_dir = exp.run_dir
    assert load_checkpoint(run_dir / "checkpoints" / "latest").loop_state["step"] == 200
    assert read_metrics(run_dir).query("phase == 'finetune'").step.max() > 200  # rows to drop
    Experiment.resume(run_dir, progress="none").run()
    frame = read_metrics(run_dir)
    for key in ("eval/return", "train/critic_loss"):
        steps = frame[(frame.key == key) & (frame.phase != "pretrain")].step.tolist()
        assert steps == sorted(set(steps)), key  # no duplicated rows
    evals = frame[(frame.key == "eval/return") & (frame.phase != "pretrain")].step.tolist()
    assert evals == [0, 200, 400]
    assert [e["event"] for e in read_events(run_dir)].count("resume") == 1
    # a resumed run matches an uninterrupted one up to the checkpoint
    clean = _comparable(_run(tiny, runs))
    resumed = _comparable(run_dir)
    upto = lambda f: f[(f.phase == "pretrain") | (f.step <= 200)].reset_index(drop=True)  # noqa: E731
    assert upto(resumed).equals(upto(clean))


@pytest.mark.slow
def test_a_run_resumed_after_policy_updates_began_keeps_the_frozen_critic_view(
    runs: Path,
) -> None:
    config = tiny_config(probes={"every": 100, "states": 32, "n_perturb": 4})
    exp = Experiment.create(config, runs, progress="none", callbacks=[_Crash(330)])
    with pytest.raises(KeyboardInterrupt):
        exp.run()  # policy updates began at step 150; the checkpoint is at 200
    assert (exp.run_dir / "probes" / "frozen_agent.pt").is_file()
    Experiment.resume(exp.run_dir, progress="none").run()
    after = json.loads((exp.run_dir / "probes" / "step_400.json").read_text())
    assert any(key.startswith("frozen/") for key in after["scalars"]), sorted(after["scalars"])
    clean = json.loads((_run(config, runs) / "probes" / "step_400.json").read_text())
    frozen = {k: v for k, v in clean["scalars"].items() if k.startswith("frozen/")}
    assert frozen and frozen == {k: after["scalars"][k] for k in frozen}


def test_a_frozen_copy_newer_than_the_resumed_checkpoint_is_taken_again(runs: Path) -> None:
    from wsdiag.training.probe_runner import load_frozen, save_frozen

    agent = make_agent(dataclasses.replace(AgentConfig(), hidden=(8,)), 3, 1)
    path = runs / "probes" / "frozen_agent.pt"
    save_frozen(agent, 150, path)
    assert load_frozen(agent, path, 100) is None  # resumed before the copy was taken
    copy = load_frozen(agent, path, 200)
    assert copy is not None and copy is not agent
    obs = torch.randn(4, 3)
    torch.testing.assert_close(copy.policy(obs), agent.policy(obs))


def test_resume_of_a_complete_run_does_nothing(tiny: Config, runs: Path) -> None:
    run_dir = _run(tiny, runs)
    rows = len(read_metrics(run_dir))
    Experiment.resume(run_dir, progress="none").run()
    assert len(read_metrics(run_dir)) == rows


class _Poison(Callback):
    """From a given online step on, every update reports a NaN critic loss."""

    def __init__(self, step: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.step, self.monkeypatch = step, monkeypatch

    def on_env_step(self, loop: Loop) -> None:
        if loop.stage == "online" and loop.step == self.step:
            original = ActorCritic.update

            def poisoned(agent: ActorCritic, batch, update_actor: bool = True):
                return original(agent, batch, update_actor) | {"critic_loss": float("nan")}

            self.monkeypatch.setattr(ActorCritic, "update", poisoned)


def test_nan_halts_and_keeps_last_checkpoint(runs: Path, monkeypatch) -> None:
    config = tiny_config(checkpoint={"every": 100})
    exp = Experiment.create(config, runs, progress="none", callbacks=[_Poison(150, monkeypatch)])
    with pytest.raises(NonFiniteError, match="non-finite critic_loss at online stage"):
        exp.run()
    halt = next(e for e in read_events(exp.run_dir) if e["event"] == "nan_halt")
    assert halt["keys"] == ["critic_loss"] and halt["step"] == 151
    assert load_checkpoint(exp.run_dir / "checkpoints" / "latest").loop_state["step"] == 100


def test_checkpoint_into_incompatible_env_names_both_shapes(tiny: Config, runs: Path) -> None:
    pre = Experiment.create(tiny, runs, progress="none").run(until="pretrain")
    config = tiny_config(
        env={"id": "InvertedPendulum-v5"}, pretrain={"source": "checkpoint", "path": str(pre)}
    )
    with pytest.raises(WsdiagError) as info:
        _run(config, runs)
    message = str(info.value)
    assert "observations of shape (3,)" in message and "observations (4,)" in message


def test_target_return_stops_pretraining(runs: Path) -> None:
    config = tiny_config(pretrain={"target_return": -1e9})
    run_dir = Experiment.create(config, runs, progress="none").run(until="pretrain")
    end = next(e for e in read_events(run_dir) if e["event"] == "pretrain_end")
    assert end["reason"] == "target_return" and end["step"] == 200
    meta = json.loads((run_dir / "checkpoints" / "pretrained" / "meta.json").read_text())
    assert meta["step"] == 200 and meta["obs_dim"] == 3 and meta["versions"]["torch"]


def test_stop_below_ends_the_online_stage_at_the_first_low_evaluation(runs: Path) -> None:
    """Not in the warm-up (step 100 here), from the policy start on: the evaluation at 200."""
    config = tiny_config(eval={"every": 100, "episodes": 1, "stop_below": 1e9},
                         warmstart={"warmup_steps": 150, "freeze_policy_steps": 0})  # fmt: skip
    run_dir = Experiment.create(config, runs, progress="none").run()
    events = read_events(run_dir)
    below = next(e for e in events if e["event"] == "return_below")
    end = next(e for e in events if e["event"] == "end")
    assert below["step"] == 200 and below["stop_below"] == 1e9
    assert (end["step"], end["reason"]) == (200, "return_below")
    assert (run_dir / "checkpoints" / "step_200").exists()


def test_probes_change_nothing_of_the_training(runs: Path) -> None:
    """The same run with probes every 100 steps and with none records the same training and
    evaluation numbers, bit for bit: probes draw from their own generators and never step the
    run's environments (what lets a confirmation's counterfactual runs leave them out)."""
    frames = []
    for every in (100, 0):
        config = tiny_config(name=f"probes-{every}",
                             probes={"every": every, "states": 32, "n_perturb": 8})  # fmt: skip
        frame = _comparable(_run(config, runs))
        frames.append(frame[~frame.key.str.startswith("probe/")].reset_index(drop=True))
    assert len(frames[0]) > 20 and "eval/return" in set(frames[0].key)
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_probes_recorded_at_interval_and_phase_boundaries(runs: Path) -> None:
    config = tiny_config(
        probes={"every": 100, "states": 64, "n_perturb": 16, "landscape_perturb": 32},
        warmstart={"warmup_steps": 130, "freeze_policy_steps": 40},
    )
    run_dir = _run(config, runs)
    frame = read_metrics(run_dir)
    steps = sorted(frame[frame.key == "probe/q_percentile"].step.tolist())
    assert steps == [0, 100, 130, 170, 200, 300, 400]  # interval, boundaries, end
    keys = set(frame.key)
    expected = {
        "probe/q_percentile", "probe/pretrained/q_percentile", "probe/grad_norm/behaviour/p90",
        "probe/policy_grad_norm", "probe/td_error/behaviour", "probe/td_error/online",
        "probe/kl/online", "probe/q_kl/behaviour", "probe/divergence/behaviour",
        "probe/frozen/su_piu", "time/probe_s",
    }  # fmt: skip
    assert expected <= keys, expected - keys
    frozen_steps = frame[frame.key == "probe/frozen/su_piu"].step
    assert frozen_steps.min() == 170  # the frozen copy is taken when policy updates begin
    with np.load(run_dir / "probes" / "step_170.npz") as arrays:
        assert arrays["landscape/q"].shape == (8, 32) and arrays["q_percentile"].shape == (64,)
    record = json.loads((run_dir / "probes" / "step_170.json").read_text())
    assert record["phase"] == "finetune" and "q_percentile" in record["scalars"]
    assert (run_dir / "probes" / "probe_set.npz").exists()
    # the warm-started actor equals the pretrained one until policy updates begin
    warmup = frame[(frame.key == "probe/action_mse/behaviour") & (frame.step <= 130)]
    assert (warmup.value == 0).all()


def test_the_frozen_critic_protocol_is_recorded_when_policy_updates_begin(runs: Path) -> None:
    config = tiny_config(probes={"every": 100, "frozen_protocol_steps": 5, "states": 32})
    run_dir = Experiment.create(config, runs, progress="none").run()
    frame = read_metrics(run_dir)
    rows = frame[frame.key.str.startswith("probe/frozen_protocol/")]
    start = config.warmstart.warmup_steps + config.warmstart.freeze_policy_steps
    assert set(rows.step) == {start}
    assert {"probe/frozen_protocol/sbeta_piu", "probe/frozen_protocol/su_piu"} <= set(rows.key)
    with np.load(run_dir / "probes" / f"step_{start}.npz") as arrays:
        assert arrays["frozen_protocol/su_piu"].shape == (32,)
