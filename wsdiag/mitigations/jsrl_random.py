"""JSRL with a random switch (the WSRL paper's JSRL baseline, its appendix I).

At the start of each episode, with probability p = p_start max(0, 1 - step / decay_steps), the
guide (wsdiag.mitigations.jsrl) rolls in for h ~ Geometric(1 - gamma) steps (support 1, 2, ...;
mean 1 / (1 - gamma) = 100 steps); otherwise h = 0. Records `mitigation/horizon`; its state (the
draws' RNG) lives in loop.state.controllers["jsrl_random"].
"""

from __future__ import annotations

import numpy as np

from wsdiag.config.mitigations.jsrl_random import TABLE, Params
from wsdiag.core import Callback, LoopView
from wsdiag.mitigations.base import Mitigation, MitigationContext
from wsdiag.mitigations.jsrl import GuideSwitch, guide_inputs, load_guide

NAME = TABLE.name


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


MITIGATION = Mitigation(TABLE, install, inputs=guide_inputs)
