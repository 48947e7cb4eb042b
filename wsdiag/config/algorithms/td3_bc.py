"""The keys of TD3+BC (`algo = "td3bc"`, Fujimoto & Gu 2021): the cloning error's and the weight
alpha of the Q-term, lambda = alpha / mean|Q(s, pi(s))|. The maths: wsdiag.agents.td3_bc."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.algorithms import bc
from wsdiag.config.rules import at_least


@dataclass(frozen=True)
class Params(bc.Params):
    """BC's reduction and the Q-term's alpha."""

    bc_alpha: float = 2.5  # td3bc: lambda = bc_alpha / mean|Q(s, pi(s))| (Fujimoto & Gu 2021)


def check(p: Params, where: str) -> None:
    bc.check(p, where)
    at_least(p, where, 0, "bc_alpha")
