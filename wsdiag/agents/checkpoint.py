"""Reading a checkpoint: a directory of state dicts that loads with `torch.load(weights_only=True)`.

    <checkpoint>/agent.pt    networks, targets, optimisers, update counters, torch RNG state
    <checkpoint>/state.json  the loop's counters and numpy RNG states
    <checkpoint>/meta.json   versions, algorithm, its config, env id, obs/action dims, stage, step
    <checkpoint>/buffer.npz  optional replay buffer (plain arrays, no pickle)

Writing is the trainer's (wsdiag.training.checkpoint); anything may read one.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from wsdiag.agents import AGENTS, ActorCritic, make_agent
from wsdiag.config import AgentConfig, agent_table, build_section
from wsdiag.config.algorithms import own_params
from wsdiag.envs import make_env
from wsdiag.errors import WsdiagError
from wsdiag.limits import human_bytes, mlp_parameters
from wsdiag.rundir import AGENT_FILE, BUFFER_FILE, META_FILE, STATE_FILE, resolve_checkpoint
from wsdiag.safe_files import check_torch_file, first_line

# What a corrupted, truncated or foreign file makes torch.load, json or zipfile raise.
UNREADABLE = (
    OSError,
    ValueError,
    RuntimeError,
    EOFError,
    KeyError,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read from disk (or imported from another format: wsdiag.agents.sb3)."""

    path: Path
    meta: dict[str, Any]
    agent_state: dict[str, Any]
    loop_state: dict[str, Any]

    @property
    def buffer_path(self) -> Path | None:
        p = self.path / BUFFER_FILE
        return p if p.exists() else None

    @property
    def buffer_capacity(self) -> int | None:
        """The replay capacity of the agent that saved it (meta.json's agent_config)."""
        capacity = self.meta.get("agent_config", {}).get("buffer_size")
        return capacity if isinstance(capacity, int) and capacity > 0 else None

    @property
    def stage(self) -> str | None:
        return self.meta.get("stage")

    @property
    def env_settings(self) -> dict[str, Any]:
        """The run's [env] table as saved in meta.json (the id alone for older checkpoints)."""
        saved = self.meta.get("config", {}).get("env", {})
        return {
            "env_id": self.meta.get("env_id") or saved.get("id"),
            "max_episode_steps": saved.get("max_episode_steps"),
            "kwargs": saved.get("kwargs") or {},
            "imports": tuple(saved.get("imports") or ()),
        }

    def make_env(self) -> gym.Env:
        """The environment the agent was trained in: its id, time limit, kwargs and imports."""
        return make_env(**self.env_settings)

    def make_agent(self, obs_dim: int, act_dim: int, device: str = "cpu") -> ActorCritic:
        """Rebuild the saved agent, checking it fits an env with these dimensions."""
        saved = (self.meta.get("obs_dim"), self.meta.get("act_dim"))
        if saved != (obs_dim, act_dim):
            raise WsdiagError(
                f"checkpoint {self.path} was made for observations of shape ({saved[0]},) and "
                f"actions of shape ({saved[1]},) ({self.meta.get('env_id')}); this environment "
                f"has observations ({obs_dim},) and actions ({act_dim},)"
            )
        cfg = build_section(AgentConfig, self.meta["agent_config"], "checkpoint.agent_config")
        agent = make_agent(cfg, obs_dim, act_dim, device)
        try:
            agent.load_state_dict(self.agent_state)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise WsdiagError(
                f"checkpoint {self.path}: agent.pt does not fit its meta.json: {exc}"
            ) from exc
        return agent


def agent_config_dict(cfg: AgentConfig) -> dict[str, Any]:
    """The agent's fields of `cfg` as JSON data, its algorithm's keys flat (a
    Pretrain/FinetuneConfig's own dropped): meta.json's `agent_config`, which
    `Checkpoint.make_agent` reads back."""
    section_only = {f.name for f in fields(cfg)} - {f.name for f in fields(AgentConfig)}
    return {k: v for k, v in agent_table(cfg).items() if k not in section_only}


def _networks(cfg: AgentConfig, obs_dim: int, act_dim: int) -> list[list[int]]:
    """Layer sizes of the networks the agent `cfg` builds, each counted once: its actor (one
    head), its critic ensemble (all but BC) and the networks its algorithm adds."""
    sizes = [[obs_dim, *cfg.hidden, act_dim]]
    if cfg.algo != "bc":
        sizes += [[obs_dim + act_dim, *cfg.hidden, 1]] * (cfg.ensemble or 1)
    return sizes + own_params(cfg).networks(obs_dim, act_dim, cfg.hidden)


def least_parameters(cfg: AgentConfig, obs_dim: int, act_dim: int) -> int:
    """Fewer parameters than the agent `cfg` builds has (`_networks`)."""
    return sum(mlp_parameters(s) for s in _networks(cfg, obs_dim, act_dim))


def _check_networks(path: Path, meta: dict[str, Any]) -> None:
    """The networks meta.json declares fit in agent.pt, which stores each of their float32
    parameters at least once: a meta.json asking for more is refused before any is built."""
    cfg = build_section(AgentConfig, meta["agent_config"], "checkpoint.agent_config")
    dims = (meta.get("obs_dim"), meta.get("act_dim"))
    if not all(isinstance(d, int) and d > 0 for d in dims):
        raise WsdiagError(
            f"checkpoint {path}: meta.json's obs_dim and act_dim {dims} are not sizes"
        )
    widths = [w for sizes in _networks(cfg, *dims) for w in sizes[1:-1]]
    if min(widths, default=0) < 1 or (cfg.ensemble or 1) < 1:
        raise WsdiagError(f"checkpoint {path}: meta.json declares a network without width")
    params = least_parameters(cfg, *dims)
    stored = (path / AGENT_FILE).stat().st_size
    if 4 * params > stored:
        raise WsdiagError(
            f"checkpoint {path}: meta.json declares {cfg.algo} networks of widths "
            f"{list(cfg.hidden)} (ensemble {cfg.ensemble or 1}: at least {params:,} parameters, "
            f"{human_bytes(4 * params)}) but agent.pt holds {human_bytes(stored)}"
        )


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> Checkpoint:
    """Read a checkpoint (a checkpoint, `checkpoints/` or run directory: `resolve_checkpoint`):
    agent.pt within the machine's memory and not inflating (`check_torch_file`), and the
    networks meta.json declares within what agent.pt holds (`_check_networks`)."""
    path = resolve_checkpoint(path)
    try:
        meta = json.loads((path / META_FILE).read_text())
        loop_state = json.loads((path / STATE_FILE).read_text())
        check_torch_file(path / AGENT_FILE, f"cannot read checkpoint {path}: agent.pt")
        agent_state = torch.load(path / AGENT_FILE, map_location=map_location, weights_only=True)
    except UNREADABLE as exc:
        raise WsdiagError(f"cannot read checkpoint {path}: {first_line(exc)}") from exc
    if not isinstance(meta, dict) or not isinstance(agent_state, dict):
        raise WsdiagError(f"cannot read checkpoint {path}: not a wsdiag checkpoint")
    if meta.get("algo") not in AGENTS:
        raise WsdiagError(f"checkpoint {path} holds an unknown algorithm '{meta.get('algo')}'")
    if not isinstance(meta.get("agent_config"), dict):
        raise WsdiagError(f"checkpoint {path}: meta.json has no agent_config")
    _check_networks(path, meta)
    return Checkpoint(path, meta, agent_state, loop_state)
