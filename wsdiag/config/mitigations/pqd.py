"""[mitigation.pqd]: PQD-only, the projection with a fixed alpha (the maths:
wsdiag.mitigations.pqd)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wsdiag.config.mitigations.base import Table
from wsdiag.config.mitigations.behaviour import check_distance
from wsdiag.config.rules import need, one_of
from wsdiag.config.schema import OwnParams

MIXES = ("eq7", "eq12")


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.pqd] PQD-only ablation: eq. 12 with a fixed alpha."""

    alpha: float = 1e-2  # fixed mixing weight of the policy gradient (0: pure PQD vector)
    mix: str = "eq7"  # "eq7": (1-alpha) q_pqd + alpha g; "eq12": (1-alpha) q_pqd + alpha (g-q_pqd)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


def check_projection(p: Any, where: str) -> None:
    """The fields PQD and CCL-PQD share: mix, bc_reduce, target."""
    one_of(p.mix, MIXES, f"{where}.mix")
    check_distance(p, where)


def check(p: Params, where: str) -> None:
    check_projection(p, where)
    need(0.0 <= p.alpha <= 1.0, f"{where}.alpha must be in [0, 1], got {p.alpha}")


TABLE = Table("pqd", Params, check)
