"""The key of behaviour cloning (`algo = "bc"`): how the cloning error reduces over action
dimensions. The maths: wsdiag.agents.bc."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.rules import choice, key
from wsdiag.config.schema import OwnParams

BC_REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Params(OwnParams):
    """err(pi(s), a) = c ||pi(s) - a||^2 with c = 1/dim(A) ("mean") or 1 ("sum")."""

    bc_reduce: str = "mean"  # bc/td3bc: (pi(s) - a)^2 averaged (authors' code) or summed over dims


def check(p: Params, where: str) -> None:
    choice(p.bc_reduce, BC_REDUCTIONS, key(where, "bc_reduce"))
