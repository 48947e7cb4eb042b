"""[mitigation.td3bc_pp]: TD3BC++, the gradient penalty's fields and the critic-weighted
relaxation's in one table (the maths: wsdiag.mitigations.td3bc_pp)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations import critic_weighted, gradient_penalty
from wsdiag.config.mitigations.base import Table


@dataclass(frozen=True)
class Params(gradient_penalty.Params, critic_weighted.Params):
    """[mitigation.td3bc_pp] The gradient penalty's fields and the relaxation's."""


def check(p: Params, where: str) -> None:
    gradient_penalty.check(p, where)
    critic_weighted.check(p, where)


TABLE = Table("td3bc_pp", Params, check, critic_weighted.requires_td3bc)
