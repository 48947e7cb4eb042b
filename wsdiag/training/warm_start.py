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
from wsdiag.core import LoopState
from wsdiag.data.buffer import ORIGIN_OFFLINE, ORIGIN_PRETRAIN, ReplayBuffer
from wsdiag.data.offline import OfflineData, OnlineBuffers
from wsdiag.data.probe_set import ProbeSet, collect_rollouts
from wsdiag.errors import WsdiagError
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
        store.load(pretrained_ckpt.buffer_path, restore_rng=False, origin=ORIGIN_PRETRAIN)
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
    logged after it (None, and every row of these phases dropped, when starting afresh)."""
    if ckpt is None:
        recorder.truncate(phases, -1)
        return None
    agent.load_state_dict(ckpt.agent_state)
    torch.set_rng_state(ckpt.agent_state["torch_rng"])
    if ckpt.buffer_path is not None:
        buffer.load(ckpt.buffer_path)
    elif len(buffer) == 0:
        recorder.event("resumed_without_buffer", checkpoint=ckpt.path.name)
    state = LoopState.from_json(ckpt.loop_state)
    recorder.truncate(phases, state.step)
    return state
