"""JSRL with a random switch (the WSRL paper's JSRL baseline, its appendix I).

At the start of each episode, with probability p = p_start max(0, 1 - step / decay_steps), the
guide (wsdiag.mitigations.jsrl) rolls in for h ~ Geometric(1 - gamma) steps (support 1, 2, ...;
mean 1 / (1 - gamma) = 100 steps); otherwise h = 0. Records `mitigation/horizon`; its state (the
draws' RNG) lives in loop.state.controllers["jsrl_random"].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wsdiag.core import Callback, LoopView
from wsdiag.mitigations.base import Mitigation, MitigationContext, need
from wsdiag.mitigations.jsrl import GuideSwitch, check_guide, load_guide

NAME = "jsrl_random"


@dataclass(frozen=True)
class Params:
    """[mitigation.jsrl_random]"""

    guide_path: str | None = None  # a run or checkpoint directory; None: the pretrained agent
    guide_explore: bool = False  # the guide explores (else it acts with its deterministic pi(s))
    guide_noise: str = "own"  # exploring: own (the guide's) | learner (the port: SB3's noise)
    p_start: float = 0.5  # probability that an episode starts with a guide roll-in
    decay_steps: int = 100_000  # the probability falls linearly to 0 over these env steps
    gamma: float = 0.99  # roll-in length ~ Geometric(1 - gamma) (mean 1 / (1 - gamma))


def check(p: Params) -> None:
    where = f"mitigation.{NAME}"
    need(0.0 <= p.gamma < 1.0, f"{where}.gamma must be in [0, 1), got {p.gamma}")
    need(0.0 <= p.p_start <= 1.0, f"{where}.p_start must be in [0, 1], got {p.p_start}")
    need(p.decay_steps >= 1, f"{where}.decay_steps must be >= 1, got {p.decay_steps}")
    check_guide(p.guide_path, p.guide_noise, where)


class JSRLRandomSwitch(Callback):
    """Draws each episode's roll-in length (see the module docstring)."""

    def __init__(self, ctx: MitigationContext, p: Params, switch: GuideSwitch) -> None:
        self.switch, self.p = switch, p
        self.rng = np.random.default_rng(ctx.seed + 6_007)

    def on_start(self, loop: LoopView) -> None:
        saved = loop.state.controllers.get(NAME)
        if saved:
            self.rng.bit_generator.state = saved["rng"]
        loop.action_override = self.switch
        self._draw(loop)

    def on_episode_end(self, loop: LoopView, episode_return: float, length: int) -> None:
        self._draw(loop)

    def probability(self, step: int) -> float:
        return self.p.p_start * max(0.0, 1.0 - step / self.p.decay_steps)

    def _draw(self, loop: LoopView) -> None:
        guided = self.rng.random() < self.probability(loop.step)
        self.switch.horizon = int(self.rng.geometric(1.0 - self.p.gamma)) if guided else 0
        loop.state.controllers[NAME] = {"rng": self.rng.bit_generator.state}
        loop.recorder.log(loop.step, loop.phase.name, {"mitigation/horizon": self.switch.horizon})


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    switch = GuideSwitch(load_guide(ctx, p.guide_path), p.guide_explore, p.guide_noise)
    return [JSRLRandomSwitch(ctx, p, switch)]


MITIGATION = Mitigation(NAME, Params, install, check)
