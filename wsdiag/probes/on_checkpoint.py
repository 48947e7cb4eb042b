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
from wsdiag.agents.checkpoint import Checkpoint, load_checkpoint
from wsdiag.config import ProbesConfig
from wsdiag.data.probe_set import collect_rollouts
from wsdiag.envs import space_dims
from wsdiag.errors import WsdiagError
from wsdiag.probes.files import save_probe_files
from wsdiag.probes.suite import protocol_probes, run_probes
from wsdiag.rundir import AGENT_FILE, PRETRAINED, PROBE_SET_FILE, PROBES_DIR


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
    if ckpt.path.name != PRETRAINED and (sibling / AGENT_FILE).exists():
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
    env = ckpt.make_env()
    obs_dim, act_dim = space_dims(env)
    agent: ActorCritic = ckpt.make_agent(obs_dim, act_dim, device)
    ref_path = _reference_path(ckpt, reference)
    pretrained = None
    if ref_path is not None:
        pretrained = load_checkpoint(ref_path).make_agent(obs_dim, act_dim, device)
    cfg = cfg or ProbesConfig()
    behaviour = collect_rollouts(env, pretrained or agent, rollouts, seed, label="behaviour")
    online = collect_rollouts(env, agent, rollouts, seed + 1, label="online")
    scalars, arrays = run_probes(
        agent, behaviour, cfg, online=online, pretrained=pretrained, seed=seed
    )
    if cfg.frozen_protocol_steps > 0:
        more = protocol_probes(agent, behaviour, env, cfg, seed)
        scalars, arrays = scalars | more[0], arrays | more[1]
    step = int(ckpt.meta.get("step", 0))
    out_dir = Path(out) if out is not None else Path("probes") / ckpt.path.name
    phase = str(ckpt.meta.get("phase", "checkpoint"))
    try:
        save_probe_files(out_dir, step, phase, scalars, arrays)
        behaviour.save(out_dir / PROBES_DIR / PROBE_SET_FILE)
    except OSError as exc:
        raise WsdiagError(f"cannot write the probe files under {out_dir}: {exc.strerror}") from exc
    return CheckpointProbe(ckpt.path, ref_path, step, scalars, arrays, out_dir)
