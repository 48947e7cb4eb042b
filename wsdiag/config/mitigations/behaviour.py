"""The fields of the BC distance D(a_beta, a) = c ||a - a_beta||^2 that the BC family of
mitigations share: c = 1 ("sum") or 1/dim(A) ("mean", the authors' code), and a_beta the
pretrained policy's action or the batch's ("pretrained" | "batch"); `check_distance` checks
those a table has."""

from __future__ import annotations

from typing import Any

from wsdiag.config.algorithms.bc import BC_REDUCTIONS
from wsdiag.config.rules import one_of

TARGETS = ("pretrained", "batch")


def check_distance(p: Any, where: str) -> None:
    """`bc_reduce` one of BC_REDUCTIONS and, where the table has one, `target` of TARGETS."""
    one_of(p.bc_reduce, BC_REDUCTIONS, f"{where}.bc_reduce")
    if hasattr(p, "target"):
        one_of(p.target, TARGETS, f"{where}.target")
