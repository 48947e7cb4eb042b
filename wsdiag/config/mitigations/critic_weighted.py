"""[mitigation.critic_weighted]: TD3BC++'s critic-weighted relaxation of TD3+BC's BC term (the
maths: wsdiag.mitigations.critic_weighted)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.rules import need, one_of
from wsdiag.config.schema import Config, OwnParams

NORMALISE = ("minmax", "none")
REDUCE = ("mean", "min")


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.critic_weighted] TD3BC++'s relaxation on its own."""

    normalise: str = "minmax"  # weight W: minmax (paper eq. 10) | none (raw Q, Listing 1)
    reduce: str = "mean"  # Q of the dataset action over the ensemble: mean (Listing 1) | min


def check(p: Params, where: str) -> None:
    one_of(p.normalise, NORMALISE, f"{where}.normalise")
    one_of(p.reduce, REDUCE, f"{where}.reduce")


def requires_td3bc(config: Config) -> None:
    need(
        config.finetune.algo == "td3bc",
        f"mitigation '{config.mitigation.name}' weights TD3+BC's BC term: set finetune.algo = "
        f"'td3bc' (got '{config.finetune.algo}')",
    )


TABLE = Table("critic_weighted", Params, check, requires_td3bc)
