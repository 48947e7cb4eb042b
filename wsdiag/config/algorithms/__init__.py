"""The algorithm registry: each algorithm's name, the defaults of the fields left unset, and its
own keys (a dataclass with its check, one module each, named as its agent in wsdiag.agents).

An algorithm's keys are written flat in [pretrain] and [finetune] beside the common agent fields
(`iql_expectile = 0.8`), read once into its `Params` (`AgentConfig.params`) when the config
loads. Adding an algorithm is its agent module, its keys' module here and one line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wsdiag.config.algorithms import bc, bcq, cql, iql, td3_bc
from wsdiag.config.schema import AgentConfig, OwnParams


def _no_check(params: Any, where: str) -> None:
    return None


DETERMINISTIC, GAUSSIAN, PERTURBATION = "deterministic", "gaussian", "perturbation"


@dataclass(frozen=True)
class Algorithm:
    """One algorithm. Its own (policy_delay, actor_q for E <= 2, ensemble) fill the fields a
    config leaves unset (`resolve_agent`): TD3 (Fujimoto et al. 2018) updates the actor every 2
    critic steps on Q_1; SAC and the offline algorithms every step on the min; DDPG has one
    critic. `actor` is its actor's kind, `starts_from` the kind of pretrained actor a warm start
    copies into it (its own kind, but BCQ's perturbation actor, which perturbs a deterministic
    one)."""

    name: str
    policy_delay: int
    actor_q: str
    ensemble: int
    actor: str  # deterministic | gaussian | perturbation (BCQ's)
    params: type[OwnParams] = OwnParams  # its own keys
    check: Callable[[Any, str], None] = _no_check  # their ranges; `where` is the section
    starts_from: str = ""  # the kind of actor it warm-starts from ("": its own)

    def __post_init__(self) -> None:
        if not self.starts_from:
            object.__setattr__(self, "starts_from", self.actor)


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("td3", 2, "first", 2, DETERMINISTIC),
        Algorithm("ddpg", 1, "first", 1, DETERMINISTIC),
        Algorithm("sac", 1, "min", 2, GAUSSIAN),
        Algorithm("bc", 1, "first", 2, DETERMINISTIC, bc.Params, bc.check),
        Algorithm("td3bc", 2, "first", 2, DETERMINISTIC, td3_bc.Params, td3_bc.check),
        Algorithm("iql", 1, "min", 2, GAUSSIAN, iql.Params, iql.check),
        Algorithm("cql", 1, "min", 2, GAUSSIAN, cql.Params, cql.check),
        Algorithm("calql", 1, "min", 2, GAUSSIAN, cql.CalQLParams, cql.check),
        Algorithm("bcq", 2, "first", 2, PERTURBATION, bcq.Params, bcq.check, DETERMINISTIC),
    )
}


def own_params(agent: AgentConfig) -> OwnParams:
    """The agent's algorithm keys: `params`, or its algorithm's defaults when unset."""
    return agent.params if agent.params is not None else ALGORITHMS[agent.algo].params()
