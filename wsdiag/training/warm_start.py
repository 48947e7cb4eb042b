"""The start of a stage: the warm start (what the new agent takes from the pretrained one), the
run's behavioural probe set, and the restore of a resumed stage from its checkpoint. The parts
loaded are a `warm_start` event, the probe set a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from wsdiag.agents import ActorCritic
from wsdiag.agents.checkpoint import Checkpoint
from wsdiag.config import Config
from wsdiag.core import ONLINE, LoopState
from wsdiag.data.buffer import ORIGIN_OFFLINE, ORIGIN_PRETRAIN, ReplayBuffer
from wsdiag.data.offline import OfflineData, OnlineBuffers
from wsdiag.data.probe_set import ProbeSet, collect_rollouts
from wsdiag.errors import WsdiagError
from wsdiag.rundir import METRICS_FILE
from wsdiag.training.recorder import Recorder

PROBE_SEED_OFFSET = 20_000  # the behavioural probe set's rollouts, and the probes' draws


def warm_start(
    config: Config,
    agent: ActorCritic,
    buffers: OnlineBuffers,
    pretrained: ActorCritic,
    pretrained_ckpt: Checkpoint,
) -> dict[str, Any]:
    """Copy the parts `warmstart.load` names; seed the buffer with the pretraining buffer and
    the retained offline data; return the `warm_start` event's fields."""
    ws = config.warmstart
    parts = [p for p in ws.load if p != "buffer"]
    loaded = agent.warm_start(pretrained, parts, optimizers=ws.load_optimizers)
    store = buffers.store
    if "buffer" in ws.load:
        if pretrained_ckpt.buffer_path is None:
            raise WsdiagError(
                f"warmstart.load has 'buffer' but {pretrained_ckpt.path} holds no buffer "
                "(pretrain with checkpoint.save_buffer = true)"
            )
        store.load(
            pretrained_ckpt.buffer_path,
            restore_rng=False,
            origin=ORIGIN_PRETRAIN,
            rows=pretrained_ckpt.buffer_capacity,
        )
        loaded.append("buffer")
    offline = buffers.seed_with
    if offline is not None:
        store.add_many(offline.arrays | {"origin": np.full(len(offline), ORIGIN_OFFLINE)})
    details: dict[str, Any] = {}
    if config.pretrain.source == "offline":
        details = {"offline_data": ws.offline_data, "offline_ratio": ws.offline_ratio}
    return {
        "pretrained": str(pretrained_ckpt.path),
        "pretrained_algo": pretrained.algo,
        "algo": agent.algo,
        "loaded": loaded,
        "transitions": len(store),
        **details,
    }


def behaviour_set(
    path: Path,
    config: Config,
    data: OfflineData | None,
    env: gym.Env,
    pretrained: ActorCritic,
) -> ProbeSet:
    """The run's behavioural states and actions, fixed once and saved at `path`: a uniform
    sample of the dataset, or deterministic rollouts of the pretrained policy."""
    if path.exists():
        return ProbeSet.load(path)
    n, seed = config.probes.states, config.seed + PROBE_SEED_OFFSET
    probe_set = data.probe_set(n, seed) if data is not None else None
    if probe_set is None:
        probe_set = collect_rollouts(env, pretrained, n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    probe_set.save(path)
    return probe_set


def restore(
    ckpt: Checkpoint | None,
    agent: ActorCritic,
    buffer: ReplayBuffer,
    recorder: Recorder,
    phases: tuple[str, ...],
) -> LoopState | None:
    """Load a checkpoint of this stage into the fresh agent and buffer and drop the metric rows
    logged after it (None, and every row of these phases dropped, when starting afresh); a
    checkpoint whose metric history is gone or shorter is refused (`check_history`)."""
    if ckpt is None:
        recorder.truncate(phases, -1)
        return None
    state = LoopState.from_json(ckpt.loop_state)
    check_history(ckpt, state, recorder, phases)
    agent.load_state_dict(ckpt.agent_state)
    torch.set_rng_state(ckpt.agent_state["torch_rng"])
    if ckpt.buffer_path is not None:
        buffer.load(ckpt.buffer_path)
    elif len(buffer) == 0:
        recorder.event("resumed_without_buffer", checkpoint=ckpt.path.name)
    recorder.resume(phases, state.step)
    return state


def check_history(
    ckpt: Checkpoint, state: LoopState, recorder: Recorder, phases: tuple[str, ...]
) -> None:
    """The run's metrics must hold every row its stage recorded up to the checkpoint (flushed
    before each checkpoint is saved): one `rollout/return` per episode, one `train/updates` per
    `log.train_every` steps, and in the online stage the baseline at step 0. A missing or older
    metrics.parquet would otherwise be overwritten by a history that silently lacks them."""
    where = f"cannot resume {recorder.run_dir} from {ckpt.path.name} (step {state.step})"
    if not (recorder.run_dir / METRICS_FILE).is_file():
        raise WsdiagError(f"{where}: {METRICS_FILE} is missing, and with it the run's history")
    expected = {"rollout/return": state.episodes, "eval/baseline_return": int(ckpt.stage == ONLINE)}
    config = ckpt.meta.get("config")  # the run's, as a table
    log = config.get("log") if isinstance(config, dict) else None
    train_every = log.get("train_every") if isinstance(log, dict) else None
    if isinstance(train_every, int) and train_every > 0:
        expected["train/updates"] = state.step // train_every
    for key, rows in expected.items():
        found = recorder.count(key, phases, state.step)
        if found < rows:
            raise WsdiagError(
                f"{where}: {METRICS_FILE} holds {found} of the {rows} '{key}' rows the "
                f"{ckpt.stage} stage recorded up to it (restore the file, or start a new run)"
            )
