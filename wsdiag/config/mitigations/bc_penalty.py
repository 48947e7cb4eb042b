"""[mitigation.bc_penalty]: the BC policy penalty's weight and form (the maths:
wsdiag.mitigations.bc_penalty)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.mitigations.behaviour import check_distance
from wsdiag.config.rules import need, one_of
from wsdiag.config.schema import OwnParams

FORMS = ("eq6", "convex")


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.bc_penalty]"""

    alpha: float = 0.1  # penalty weight (eq. 6), or the Q weight for form = "convex"
    form: str = "eq6"  # "eq6": -Q + alpha D; "convex": alpha (-Q) + (1 - alpha) D (code)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


def check(p: Params, where: str) -> None:
    one_of(p.form, FORMS, f"{where}.form")
    check_distance(p, where)
    need(p.alpha >= 0, f"{where}.alpha must be >= 0, got {p.alpha}")
    if p.form == "convex":
        need(p.alpha <= 1, f"{where}.alpha must be in [0, 1] with form = 'convex'")


TABLE = Table("bc_penalty", Params, check)
