"""Agents: TD3, DDPG and SAC over a batched critic ensemble."""

from __future__ import annotations

from wsdiag.agents.base import ActorCritic
from wsdiag.agents.sac import SAC
from wsdiag.agents.td3 import DDPG, TD3
from wsdiag.config import AgentConfig

AGENTS: dict[str, type[ActorCritic]] = {"td3": TD3, "ddpg": DDPG, "sac": SAC}


def make_agent(cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> ActorCritic:
    """Build the agent named by `cfg.algo`."""
    return AGENTS[cfg.algo](cfg, obs_dim, act_dim, device)


__all__ = ["AGENTS", "DDPG", "SAC", "TD3", "ActorCritic", "make_agent"]
