"""Agents: TD3, DDPG and SAC over a batched critic ensemble, and the offline algorithms BC,
TD3+BC, IQL, CQL and Cal-QL (see docs/offline.md), and online BCQ."""

from __future__ import annotations

from wsdiag.agents.base import ActorCritic
from wsdiag.agents.bc import BC
from wsdiag.agents.bcq import BCQ
from wsdiag.agents.cql import CQL, CalQL
from wsdiag.agents.iql import IQL
from wsdiag.agents.sac import SAC
from wsdiag.agents.td3 import DDPG, TD3
from wsdiag.agents.td3_bc import TD3BC
from wsdiag.config import AgentConfig

# Each agent class names its algorithm (`algo`), whose keys and defaults are
# wsdiag.config.algorithms.ALGORITHMS[algo].
AGENTS: dict[str, type[ActorCritic]] = {
    cls.algo: cls for cls in (TD3, DDPG, SAC, BC, TD3BC, IQL, CQL, CalQL, BCQ)
}


def make_agent(cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> ActorCritic:
    """Build the agent named by `cfg.algo`."""
    return AGENTS[cfg.algo](cfg, obs_dim, act_dim, device)


__all__ = [
    "AGENTS",
    "BC",
    "BCQ",
    "CQL",
    "DDPG",
    "IQL",
    "SAC",
    "TD3",
    "TD3BC",
    "ActorCritic",
    "CalQL",
    "make_agent",
]
