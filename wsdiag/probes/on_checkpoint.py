"""Probing a saved agent: what `wsdiag probe --checkpoint` runs.

The behavioural probe set is `rollouts` deterministic steps of the reference policy (the
pretrained agent: given, or the `pretrained` checkpoint beside the probed one, or else the probed
agent itself), or a saved probe set (`states`: a run's probes/probe_set.npz, so that the numbers
equal those the run recorded); the online set is `rollouts` steps of the probed agent's own
policy. Both start from seeded resets, so probing two checkpoints of a run with the same seed
compares them on the same behavioural states. The probed agent and the reference may each be an
SB3 model.save() zip (wsdiag.agents.sb3), which names no environment: `env_id` then does.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from wsdiag.agents import ActorCritic
from wsdiag.agents.checkpoint import Checkpoint, load_checkpoint
from wsdiag.agents.sb3 import import_sb3
from wsdiag.config import PretrainConfig, ProbesConfig
from wsdiag.data.probe_set import ProbeSet, collect_rollouts
from wsdiag.envs import make_env, space_dims
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


def load_agent(path: str | Path, env: gym.Env | None, name: str) -> Checkpoint:
    """A wsdiag checkpoint (`load_checkpoint`), or an SB3 zip imported as one and checked
    against `env`, which it needs (it names none)."""
    path = Path(path)
    if not (path.is_file() and zipfile.is_zipfile(path)):
        return load_checkpoint(path)
    if env is None:
        raise WsdiagError(f"{name} {path} is an SB3 zip, which names no environment: add --env")
    return import_sb3(path, PretrainConfig(), env)


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
    states: str | Path | None = None,
    env_id: str | None = None,
) -> CheckpointProbe:
    """Run every probe on a checkpoint and write probes/step_<n>.{npz,json} under `out`."""
    given_env = make_env(env_id) if env_id else None
    ckpt = load_agent(checkpoint, given_env, "--checkpoint")
    env = given_env or ckpt.make_env()
    obs_dim, act_dim = space_dims(env)
    agent: ActorCritic = ckpt.make_agent(obs_dim, act_dim, device)
    ref_path = _reference_path(ckpt, reference)
    pretrained = None
    if ref_path is not None:
        ref = load_agent(ref_path, env, "--reference")
        pretrained = ref.make_agent(obs_dim, act_dim, device)
    cfg = cfg or ProbesConfig()
    if states is not None:
        behaviour = ProbeSet.load(Path(states))
        if behaviour.states.shape[1:] != (obs_dim,) or behaviour.actions.shape[1:] != (act_dim,):
            raise WsdiagError(
                f"--states {states}: states {behaviour.states.shape} and actions "
                f"{behaviour.actions.shape} do not fit observations ({obs_dim},) and actions "
                f"({act_dim},)"
            )
    else:
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
