"""[mitigation.jsrl]: the Jump-Start RL curriculum, its guide and its schedule (the maths:
wsdiag.mitigations.jsrl)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wsdiag.config.mitigations.base import Table
from wsdiag.config.rules import need, one_of
from wsdiag.config.schema import OwnParams

GUIDE_NOISES = ("own", "learner")


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.jsrl] Jump-Start RL curriculum: a guide acts for the first h steps."""

    guide_path: str | None = None  # a run or checkpoint directory; None: the pretrained agent
    guide_explore: bool = False  # the guide explores (else it acts with its deterministic pi(s))
    guide_noise: str = "own"  # exploring: own (the guide's) | learner (the port: SB3's noise)
    max_horizon: int | None = None  # h at the start; None: the env's episode step limit
    stages: int = 10  # curriculum stages: h goes max_horizon -> 0 in steps of max_horizon/stages
    tolerance: float = 0.0  # advance when the moving mean >= best - tolerance |best|
    window: int = 1  # evaluations in the moving mean
    eval_every: int = 1_000  # env steps between evaluations of the guide + learner policy
    eval_episodes: int = 20  # episodes per evaluation


def check_guide(guide_path: str | None, guide_noise: str, where: str) -> None:
    """A given guide must exist when the config loads (that it holds a checkpoint is checked
    when the run starts: wsdiag.mitigations.jsrl)."""
    one_of(guide_noise, GUIDE_NOISES, f"{where}.guide_noise")
    if guide_path is not None:
        need(Path(guide_path).exists(), f"{where}.guide_path: checkpoint not found: {guide_path}")


def check(p: Params, where: str) -> None:
    for name in ("stages", "window", "eval_every", "eval_episodes"):
        need(getattr(p, name) >= 1, f"{where}.{name} must be >= 1, got {getattr(p, name)}")
    need(p.max_horizon is None or p.max_horizon >= 1, f"{where}.max_horizon must be >= 1")
    need(p.tolerance >= 0, f"{where}.tolerance must be >= 0, got {p.tolerance}")
    check_guide(p.guide_path, p.guide_noise, where)


TABLE = Table("jsrl", Params, check)
