"""[mitigation.ccl_bc]: the CCL confidence controller's fields and the BC distance's (the maths:
wsdiag.mitigations.ccl_bc)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.mitigations.behaviour import check_distance
from wsdiag.config.mitigations.ccl_pqd import ConfidenceParams, check_confidence


@dataclass(frozen=True)
class Params(ConfidenceParams):
    """[mitigation.ccl_bc] The controller's fields and the BC distance's."""

    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


def check(p: Params, where: str) -> None:
    check_confidence(p, where)
    check_distance(p, where)


TABLE = Table("ccl_bc", Params, check)
