"""[mitigation.lr_scale]: the actor's learning rate as a share of finetune.actor_lr (the maths:
wsdiag.mitigations.lr_scale)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.rules import need
from wsdiag.config.schema import OwnParams


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.lr_scale]"""

    scale: float = 0.1  # actor lr = scale * finetune.actor_lr


def check(p: Params, where: str) -> None:
    need(p.scale > 0, f"{where}.scale must be > 0, got {p.scale}")


TABLE = Table("lr_scale", Params, check)
