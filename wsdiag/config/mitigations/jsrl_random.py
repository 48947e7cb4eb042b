"""[mitigation.jsrl_random]: JSRL with a random switch, its guide and the roll-in's probability
and length (the maths: wsdiag.mitigations.jsrl_random)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.mitigations.jsrl import check_guide
from wsdiag.config.rules import need
from wsdiag.config.schema import OwnParams


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.jsrl_random]"""

    guide_path: str | None = None  # a run or checkpoint directory; None: the pretrained agent
    guide_explore: bool = False  # the guide explores (else it acts with its deterministic pi(s))
    guide_noise: str = "own"  # exploring: own (the guide's) | learner (the port: SB3's noise)
    p_start: float = 0.5  # probability that an episode starts with a guide roll-in
    decay_steps: int = 100_000  # the probability falls linearly to 0 over these env steps
    gamma: float = 0.99  # roll-in length ~ Geometric(1 - gamma) (mean 1 / (1 - gamma))


def check(p: Params, where: str) -> None:
    need(0.0 <= p.gamma < 1.0, f"{where}.gamma must be in [0, 1), got {p.gamma}")
    need(0.0 <= p.p_start <= 1.0, f"{where}.p_start must be in [0, 1], got {p.p_start}")
    need(p.decay_steps >= 1, f"{where}.decay_steps must be >= 1, got {p.decay_steps}")
    check_guide(p.guide_path, p.guide_noise, where)


TABLE = Table("jsrl_random", Params, check)
