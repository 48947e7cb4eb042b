"""[mitigation.grad_clip]: the actor's gradient-norm threshold (the maths, and why the default
is so small under Adam: wsdiag.mitigations.grad_clip)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.rules import need
from wsdiag.config.schema import OwnParams


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.grad_clip]"""

    max_norm: float = 3e-6  # clip the actor's parameter-gradient norm to this (authors: 3e-9..3e-3)


def check(p: Params, where: str) -> None:
    need(p.max_norm > 0, f"{where}.max_norm must be > 0, got {p.max_norm}")


TABLE = Table("grad_clip", Params, check)
