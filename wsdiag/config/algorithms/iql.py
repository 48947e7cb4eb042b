"""The keys of IQL (`algo = "iql"`, Kostrikov, Nair & Levine 2021): the expectile tau of V(s),
the advantage weights exp(beta A) clipped at `iql_max_weight`, how the actor is read, and V's
learning rate. The maths: wsdiag.agents.iql."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.rules import at_least, choice, key, positive, within
from wsdiag.config.schema import OwnParams

IQL_POLICIES = ("tanh_mean", "squashed")


@dataclass(frozen=True)
class Params(OwnParams):
    """IQL's value regression and advantage-weighted actor."""

    iql_expectile: float = 0.7  # iql: expectile tau of V(s) regressed on min Q'(s, a)
    iql_beta: float = 3.0  # iql: inverse temperature of the advantage weights exp(beta A)
    iql_max_weight: float = 100.0  # iql: clip of the advantage weights
    iql_policy: str = "tanh_mean"  # iql: "tanh_mean" N(tanh mu, sigma) (authors' code) | "squashed"
    iql_atanh_eps: float = 1e-6  # iql, squashed: actions clipped to +-(1 - eps) before atanh
    value_lr: float = 3e-4  # iql: learning rate of V(s)

    def networks(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> list[list[int]]:
        """The value network V(s)."""
        return [[obs_dim, *hidden, 1]]


def check(p: Params, where: str) -> None:
    choice(p.iql_policy, IQL_POLICIES, key(where, "iql_policy"))
    positive(p, where, "value_lr", "iql_max_weight")
    at_least(p, where, 0, "iql_beta")
    within(p, where, "iql_expectile", 0.0, 1.0, open_low=True)
    within(p, where, "iql_atanh_eps", 0.0, 0.5, open_low=True)
