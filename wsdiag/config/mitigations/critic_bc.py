"""[mitigation.critic_bc]: the BC penalty inside the critic's target (the maths:
wsdiag.mitigations.critic_bc)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.mitigations.behaviour import check_distance
from wsdiag.config.rules import need
from wsdiag.config.schema import OwnParams


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.critic_bc]"""

    alpha: float = 0.1  # y = r + gamma (1 - d) (Q'(s', a') - alpha D(a_beta(s'), a'))
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean")


def check(p: Params, where: str) -> None:
    need(p.alpha >= 0, f"{where}.alpha must be >= 0, got {p.alpha}")
    check_distance(p, where)


TABLE = Table("critic_bc", Params, check)
