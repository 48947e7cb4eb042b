"""Confidence Constrained Learning (Wexler, Sarafian & Kraus, section IV, eq. 8) and CCL-PQD.

The confidence P is the Q-percentile probe (wsdiag.probes.q_percentile, eq. 8) of the fine-tuning
agent's critic: the fraction of perturbed actions a + eps the critic values below the behavioural
action a, averaged over behavioural states; it is recomputed every `every` critic updates. The
map to the constraint weight is log-linear:

    alpha = alpha_start                                          if P <= p_start (0.5)
    alpha = 10^x,  x = log10(alpha_start) (1 - P) / (1 - p_start)  otherwise

i.e. x moves linearly from log10(alpha_start) at P = p_start to 0 (alpha = 1) at P = 1. The
controller records `mitigation/alpha` and `mitigation/confidence` and keeps both in
loop.state.controllers[<mitigation name>].

CCL-PQD is the PQD update (wsdiag.mitigations.pqd) mixed by this alpha; CCL-BC
(wsdiag.mitigations.ccl_bc) reuses the controller with the plain BC distance.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from wsdiag.config.mitigations.ccl_pqd import TABLE, ConfidenceParams, Params
from wsdiag.core import Callback, LoopView
from wsdiag.mitigations.base import Mitigation, MitigationContext
from wsdiag.mitigations.pqd import projection_hook
from wsdiag.probes.common import critic_fn
from wsdiag.probes.q_percentile import q_percentile


def alpha_from_confidence(p: float, alpha_start: float, p_start: float = 0.5) -> float:
    """The log-scale map of P in [p_start, 1] onto alpha in [alpha_start, 1]."""
    if p <= p_start:
        return alpha_start
    frac = min((p - p_start) / (1.0 - p_start), 1.0)
    return 10.0 ** ((1.0 - frac) * math.log10(alpha_start))


class ConfidenceController(Callback):
    """Recomputes P and alpha every `every` critic updates of ctx.agent."""

    wants_updates = True

    def __init__(self, name: str, ctx: MitigationContext, params: ConfidenceParams) -> None:
        self.name, self.agent, self.params = name, ctx.agent, params
        self.alpha, self.confidence = params.alpha_start, float("nan")
        behaviour = ctx.behaviour
        rng = np.random.default_rng(ctx.seed)
        n = min(params.n_states, len(behaviour))
        idx = np.sort(rng.choice(len(behaviour), n, replace=False))
        device = ctx.agent.device
        self.states = torch.as_tensor(behaviour.states[idx], dtype=torch.float32, device=device)
        self.actions = torch.as_tensor(behaviour.actions[idx], dtype=torch.float32, device=device)
        self.generator = torch.Generator().manual_seed(ctx.seed)

    def _log(self, loop: LoopView) -> None:
        rows = {"mitigation/alpha": self.alpha}
        if not math.isnan(self.confidence):
            rows["mitigation/confidence"] = self.confidence
        loop.recorder.log(loop.step, loop.phase.name, rows)

    def on_start(self, loop: LoopView) -> None:
        saved = loop.state.controllers.get(self.name)
        if saved:
            self.alpha, self.confidence = float(saved["alpha"]), float(saved["confidence"])
        self._log(loop)

    def update(self, states: torch.Tensor, actions: torch.Tensor) -> float:
        """Recompute P on (states, actions) and alpha from it; returns alpha."""
        p = self.params
        percentile = q_percentile(
            critic_fn(self.agent, p.q_reduce),
            states,
            actions,
            n_perturb=p.n_perturb,
            sigma=p.sigma,
            bounds=p.bounds,
            generator=self.generator,
        )
        self.confidence = float(percentile.mean())
        self.alpha = alpha_from_confidence(self.confidence, p.alpha_start, p.p_start)
        return self.alpha

    def on_update(self, loop: LoopView, batch, metrics) -> None:
        if self.agent.critic_updates % self.params.every != 0:
            return
        if self.params.states == "batch":
            self.update(batch.obs, batch.actions)
        else:
            self.update(self.states, self.actions)
        loop.state.controllers[self.name] = {"alpha": self.alpha, "confidence": self.confidence}
        self._log(loop)


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    controller = ConfidenceController(TABLE.name, ctx, p)
    ctx.agent.actor_directions.append(projection_hook(ctx, p, lambda: controller.alpha))
    return [controller]


MITIGATION = Mitigation(TABLE, install)
