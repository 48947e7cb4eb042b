"""[mitigation.gradient_penalty]: TD3BC++'s penalty lambda_GP ReLU(||dQ_e/da|| - k)^2 on the
critic (the maths: wsdiag.mitigations.gradient_penalty)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.rules import need, one_of
from wsdiag.config.schema import OwnParams

GP_ACTIONS = ("uniform", "policy", "dataset")


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.gradient_penalty] TD3BC++'s gradient penalty on its own."""

    weight: float = 1.0  # lambda_GP (TD3BC++ Table 7: 1, or 0.1 on relocate)
    k: float = 1.0  # norm threshold: penalise ReLU(||dQ_e/da|| - k)^2
    every: int = 5  # apply on every N-th critic update, 0 on the others (paper: N = 5)
    n_actions: int = 16  # sampled actions per state (uniform, policy); dataset: its own action
    actions: str = "uniform"  # where the actions come from: uniform | policy | dataset


def check(p: Params, where: str) -> None:
    one_of(p.actions, GP_ACTIONS, f"{where}.actions")
    need(p.every >= 1 and p.n_actions >= 1, f"{where}: every and n_actions must be >= 1")
    need(p.weight >= 0 and p.k >= 0, f"{where}: weight and k must be >= 0")


TABLE = Table("gradient_penalty", Params, check)
