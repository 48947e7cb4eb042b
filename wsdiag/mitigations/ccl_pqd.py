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
from dataclasses import dataclass

import numpy as np
import torch

from wsdiag.core import Callback, LoopView
from wsdiag.mitigations.base import Mitigation, MitigationContext, need, one_of
from wsdiag.mitigations.pqd import check_projection, projection_hook
from wsdiag.probes.common import critic_fn
from wsdiag.probes.q_percentile import BOUNDS, q_percentile

NAME = "ccl_pqd"


@dataclass(frozen=True)
class ConfidenceParams:
    """The CCL confidence controller: P = Q-percentile of behavioural actions -> alpha."""

    alpha_start: float = 1e-2  # alpha while P <= p_start (paper: 1e-2 moderate, 1e-4 strong expert)
    p_start: float = 0.5  # P at which alpha starts to rise (log-linearly) to 1 at P = 1
    every: int = 500  # recompute P every this many critic updates (code: 500)
    n_perturb: int = 500  # perturbed actions per state in the percentile (paper: 500)
    sigma: float = 1.0  # perturbation half-width as a fraction of the action half-range
    bounds: str = "unclipped"  # a + eps off the box (code) | truncate (to the box) | clip
    n_states: int = 256  # behavioural states (a fixed random subset of the probe set) used for P
    states: str = "behaviour"  # "behaviour" (the run's probe set) or "batch" (code: the update's)
    q_reduce: str = "mean"  # "mean" or "min" over the critic ensemble for the percentile


def check_confidence(p: ConfidenceParams, where: str) -> None:
    """The controller's fields; `where` is the mitigation's table."""
    need(0.0 < p.alpha_start <= 1.0, f"{where}.alpha_start must be in (0, 1], got {p.alpha_start}")
    need(0.0 <= p.p_start < 1.0, f"{where}.p_start must be in [0, 1), got {p.p_start}")
    for name in ("every", "n_perturb", "n_states"):
        need(getattr(p, name) >= 1, f"{where}.{name} must be >= 1, got {getattr(p, name)}")
    need(p.sigma > 0, f"{where}.sigma must be > 0, got {p.sigma}")
    one_of(p.states, ("behaviour", "batch"), f"{where}.states")
    one_of(p.q_reduce, ("mean", "min"), f"{where}.q_reduce")
    one_of(p.bounds, BOUNDS, f"{where}.bounds")


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


@dataclass(frozen=True)
class Params(ConfidenceParams):
    """[mitigation.ccl_pqd] The controller's fields and PQD's."""

    mix: str = "eq7"  # "eq7": (1-alpha) q_pqd + alpha g; "eq12": (1-alpha) q_pqd + alpha (g-q_pqd)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


def check(p: Params) -> None:
    check_confidence(p, f"mitigation.{NAME}")
    check_projection(p, f"mitigation.{NAME}")


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    controller = ConfidenceController(NAME, ctx, p)
    ctx.agent.actor_directions.append(projection_hook(ctx, p, lambda: controller.alpha))
    return [controller]


MITIGATION = Mitigation(NAME, Params, install, check)
