"""Checkpoints: a directory of state dicts that loads with `torch.load(weights_only=True)`.

    <checkpoint>/agent.pt    networks, targets, optimisers, update counters, torch RNG state
    <checkpoint>/state.json  the loop's counters and numpy RNG states
    <checkpoint>/meta.json   versions, algorithm, its config, env id, obs/action dims, stage, step
    <checkpoint>/buffer.npz  optional replay buffer (plain arrays, no pickle)

A checkpoint is written into a temp directory and renamed into place, then `checkpoints/latest`
is re-pointed at it, so that a crash never leaves a half-written checkpoint that looks complete.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wsdiag.agents import AGENTS, ActorCritic, make_agent
from wsdiag.atomic import replace_symlink
from wsdiag.config import AgentConfig, _build
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.params import MitigationConfig
from wsdiag.versions import versions

AGENT_FILE, STATE_FILE, META_FILE, BUFFER_FILE = "agent.pt", "state.json", "meta.json", "buffer.npz"
PRETRAINED = "pretrained"


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read from disk."""

    path: Path
    meta: dict[str, Any]
    agent_state: dict[str, Any]
    loop_state: dict[str, Any]

    @property
    def buffer_path(self) -> Path | None:
        p = self.path / BUFFER_FILE
        return p if p.exists() else None

    def make_agent(self, obs_dim: int, act_dim: int, device: str = "cpu") -> ActorCritic:
        """Rebuild the saved agent, checking it fits an env with these dimensions."""
        saved = (self.meta["obs_dim"], self.meta["act_dim"])
        if saved != (obs_dim, act_dim):
            raise WsdiagError(
                f"checkpoint {self.path} was made for observations of shape ({saved[0]},) and "
                f"actions of shape ({saved[1]},) ({self.meta.get('env_id')}); this environment "
                f"has observations ({obs_dim},) and actions ({act_dim},)"
            )
        cfg = _build(AgentConfig, self.meta["agent_config"], "checkpoint.agent_config")
        agent = make_agent(cfg, obs_dim, act_dim, device)
        mitigation = self.meta.get("config", {}).get("mitigation")
        if self.meta.get("stage") == "online" and mitigation:
            from wsdiag.mitigations.registry import prepare_agent

            prepare_agent(agent, _build(MitigationConfig, mitigation, "checkpoint.mitigation"))
        agent.load_state_dict(self.agent_state)
        return agent


def save_checkpoint(
    path: Path,
    agent: ActorCritic,
    meta: dict[str, Any],
    loop_state: dict[str, Any],
    buffer: Any | None = None,
) -> Path:
    """Write a complete checkpoint directory at `path` and point `<parent>/latest` at it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    state = agent.state_dict() | {"torch_rng": torch.get_rng_state()}
    torch.save(state, tmp / AGENT_FILE)
    full_meta = {
        "format": 1,
        "algo": agent.algo,
        "agent_config": _agent_config_dict(agent.cfg),
        "obs_dim": agent.obs_dim,
        "act_dim": agent.act_dim,
        "versions": versions(),
        **meta,
    }
    (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2, default=str))
    (tmp / STATE_FILE).write_text(json.dumps(loop_state, indent=2))
    if buffer is not None:
        buffer.save(tmp / BUFFER_FILE)
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    replace_symlink(path.parent / "latest", path.name)
    return path


def _agent_config_dict(cfg: AgentConfig) -> dict[str, Any]:
    from dataclasses import asdict, fields

    names = {f.name for f in fields(AgentConfig)}
    return {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in asdict(cfg).items()
        if k in names and v is not None
    }


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory from a checkpoint, a `checkpoints/` folder or a run directory.

    A run directory resolves to its pretrained checkpoint; a `checkpoints/` folder to `latest`.
    """
    path = Path(path)
    if (path / AGENT_FILE).exists():
        return path
    if (path / "checkpoints" / PRETRAINED / AGENT_FILE).exists():
        return path / "checkpoints" / PRETRAINED
    if (path / "latest" / AGENT_FILE).exists():
        return (path / "latest").resolve()
    if not path.exists():
        raise WsdiagError(f"checkpoint not found: {path}")
    raise WsdiagError(
        f"no checkpoint in {path} (expected {AGENT_FILE}, checkpoints/{PRETRAINED}/ or latest/)"
    )


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> Checkpoint:
    """Read a checkpoint (see `resolve_checkpoint` for what `path` may be)."""
    path = resolve_checkpoint(path)
    try:
        meta = json.loads((path / META_FILE).read_text())
        loop_state = json.loads((path / STATE_FILE).read_text())
        agent_state = torch.load(path / AGENT_FILE, map_location=map_location, weights_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise WsdiagError(f"cannot read checkpoint {path}: {exc}") from exc
    if meta.get("algo") not in AGENTS:
        raise WsdiagError(f"checkpoint {path} holds an unknown algorithm '{meta.get('algo')}'")
    return Checkpoint(path, meta, agent_state, loop_state)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    link = Path(run_dir) / "checkpoints" / "latest"
    if link.exists() and (link / AGENT_FILE).exists():
        return link.resolve()
    return None


def prune_checkpoints(folder: Path, prefix: str, keep: int) -> None:
    """Remove all but the `keep` newest `<prefix><step>` checkpoints in `folder`."""
    found = sorted(
        (int(p.name[len(prefix) :]), p)
        for p in Path(folder).glob(f"{prefix}*")
        if p.is_dir() and p.name[len(prefix) :].isdigit()
    )
    for _, p in found[: max(len(found) - keep, 0)]:
        shutil.rmtree(p)
