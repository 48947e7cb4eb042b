"""Confidence Constrained Learning (Wexler, Sarafian & Kraus, section IV, eq. 8) and CCL-PQD.

The confidence P is the Q-percentile probe (wsdiag.probes.q_percentile, eq. 8) of the fine-tuning
agent's critic: the fraction of perturbed actions a + eps the critic values below the behavioural
action a, averaged over behavioural states; it is recomputed every `every` critic updates. The
map to the constraint weight is log-linear:

    alpha = alpha_start                                       if P <= p_start (0.5)
    alpha = 10^x,  x = log10(alpha_start) (1 - P) / (1 - p_start)   otherwise

i.e. x moves linearly from log10(alpha_start) at P = p_start to 0 (alpha = 1) at P = 1.

CCL-PQD is the PQD update (wsdiag.mitigations.pqd) with this alpha. The controller records
`mitigation/alpha` and `mitigation/confidence` and keeps both in loop.state.extra[<name>].
"""

from __future__ import annotations

import math

import numpy as np
import torch

from wsdiag.mitigations.bc_penalty import HookStats, behaviour_target, choice, distance_scale
from wsdiag.mitigations.params_policy import ConfidenceParams
from wsdiag.mitigations.pqd import MIXES, pqd_direction
from wsdiag.mitigations.registry import MitigationContext, register
from wsdiag.probes.common import critic_fn
from wsdiag.probes.q_percentile import q_percentile
from wsdiag.training.callbacks import Callback


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
        where = f"mitigation.{name}"
        choice(params.states, ("behaviour", "batch"), f"{where}.states")
        choice(params.q_reduce, ("mean", "min"), f"{where}.q_reduce")
        if not 0.0 < params.alpha_start <= 1.0:
            raise ValueError(f"{where}.alpha_start must be in (0, 1], got {params.alpha_start}")
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

    def _log(self, loop) -> None:
        rows = {"mitigation/alpha": self.alpha}
        if not math.isnan(self.confidence):
            rows["mitigation/confidence"] = self.confidence
        loop.recorder.log(loop.step, loop.phase.name, rows)

    def on_start(self, loop) -> None:
        saved = loop.state.extra.get(self.name)
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
            generator=self.generator,
        )
        self.confidence = float(percentile.mean())
        self.alpha = alpha_from_confidence(self.confidence, p.alpha_start, p.p_start)
        return self.alpha

    def on_update(self, loop, batch, metrics) -> None:
        if self.agent.critic_updates % self.params.every != 0:
            return
        if self.params.states == "batch":
            self.update(batch.obs, batch.actions)
        else:
            self.update(self.states, self.actions)
        loop.state.extra[self.name] = {"alpha": self.alpha, "confidence": self.confidence}
        self._log(loop)


@register("ccl_pqd")
def build_ccl_pqd(ctx: MitigationContext) -> list[Callback]:
    p = ctx.config.mitigation.ccl_pqd
    where = "mitigation.ccl_pqd"
    choice(p.mix, MIXES, f"{where}.mix")
    scale = distance_scale(ctx, p.bc_reduce, f"{where}.bc_reduce")
    a_beta = behaviour_target(ctx, p.target, f"{where}.target")
    controller = ConfidenceController("ccl_pqd", ctx, p)
    stats = HookStats(ctx.config.log.train_every)
    ctx.agent.actor_directions.append(
        pqd_direction(lambda: controller.alpha, p.mix, scale, a_beta, stats.stats)
    )
    return [controller, stats]
