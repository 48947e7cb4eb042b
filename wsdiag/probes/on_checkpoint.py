"""Probing a saved agent: what `wsdiag probe --checkpoint` runs.

The behavioural probe set is `rollouts` deterministic steps of the reference policy (the
pretrained agent: given, or the `pretrained` checkpoint beside the probed one, or else the probed
agent itself); the online set is as many steps of the probed agent's own policy. Both start from
seeded resets, so probing two checkpoints of a run with the same seed compares them on the same
behavioural states.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wsdiag.agents import ActorCritic
from wsdiag.config import ProbesConfig
from wsdiag.envs import make_env, space_dims
from wsdiag.probes.probe_set import collect_rollouts
from wsdiag.probes.suite import run_probes
from wsdiag.training.checkpoint import PRETRAINED, Checkpoint, load_checkpoint
from wsdiag.training.recorder import Recorder


@dataclass(frozen=True)
class CheckpointProbe:
    """The result of probing one checkpoint, and where it was written."""

    checkpoint: Path
    reference: Path | None
    step: int
    scalars: dict[str, float]
    arrays: dict[str, np.ndarray]
    out: Path


def _reference_path(ckpt: Checkpoint, reference: str | Path | None) -> Path | None:
    if reference is not None:
        return Path(reference)
    sibling = ckpt.path.parent / PRETRAINED
    if ckpt.path.name != PRETRAINED and (sibling / "agent.pt").exists():
        return sibling
    return None


def probe_checkpoint(
    checkpoint: str | Path,
    *,
    reference: str | Path | None = None,
    rollouts: int = 1000,
    out: str | Path | None = None,
    cfg: ProbesConfig | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> CheckpointProbe:
    """Run every probe on a checkpoint and write probes/step_<n>.{npz,json} under `out`."""
    ckpt = load_checkpoint(checkpoint)
    env = make_env(ckpt.meta["env_id"])
    obs_dim, act_dim = space_dims(env)
    agent: ActorCritic = ckpt.make_agent(obs_dim, act_dim, device)
    ref_path = _reference_path(ckpt, reference)
    pretrained = None
    if ref_path is not None:
        pretrained = load_checkpoint(ref_path).make_agent(obs_dim, act_dim, device)
    cfg = cfg or ProbesConfig()
    offline = collect_rollouts(env, pretrained or agent, rollouts, seed, label="behaviour")
    online = collect_rollouts(env, agent, rollouts, seed + 1, label="online")
    scalars, arrays = run_probes(
        agent, offline, cfg, online=online, pretrained=pretrained, seed=seed
    )
    step = int(ckpt.meta.get("step", 0))
    out_dir = Path(out) if out is not None else Path("probes") / ckpt.path.name
    out_dir.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(out_dir)
    recorder.save_probe(step, str(ckpt.meta.get("phase", "checkpoint")), scalars, arrays)
    offline.save(out_dir / "probes" / "probe_set.npz")
    return CheckpointProbe(ckpt.path, ref_path, step, scalars, arrays, out_dir)
