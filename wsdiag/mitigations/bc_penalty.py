"""BC policy penalty (Wexler, Sarafian & Kraus, eq. 6).

With D = c ||a - a_beta||^2 (wsdiag.mitigations.behaviour) and grad_D = 2 c (a - a_beta), in the
action-space form of the agents (g = -dQ/da arrives at the hook; descent moves a along -g):

    form = "eq6"    (paper, max Q - alpha D):             g <- g + alpha grad_D
    form = "convex" (authors' code, alpha Q - (1-alpha) D): g <- alpha g + (1 - alpha) grad_D

Records `mitigation/alpha` (once) and `mitigation/bc_distance` (mean D over the batch).
CCL-BC (wsdiag.mitigations.ccl_bc) is the convex form with CCL's confidence-controlled alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.agents.bc import bc_scale
from wsdiag.core import Callback
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.base import LogConstants, Mitigation, MitigationContext, need, one_of
from wsdiag.mitigations.behaviour import (
    REDUCTIONS,
    TARGETS,
    Target,
    behaviour_target,
    distance_gradient,
)

FORMS = ("eq6", "convex")


@dataclass(frozen=True)
class Params:
    """[mitigation.bc_penalty]"""

    alpha: float = 0.1  # penalty weight (eq. 6), or the Q weight for form = "convex"
    form: str = "eq6"  # "eq6": -Q + alpha D; "convex": alpha (-Q) + (1 - alpha) D (code)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


def check(p: Params) -> None:
    where = "mitigation.bc_penalty"
    one_of(p.form, FORMS, f"{where}.form")
    one_of(p.bc_reduce, REDUCTIONS, f"{where}.bc_reduce")
    one_of(p.target, TARGETS, f"{where}.target")
    need(p.alpha >= 0, f"{where}.alpha must be >= 0, got {p.alpha}")
    if p.form == "convex":
        need(p.alpha <= 1, f"{where}.alpha must be in [0, 1] with form = 'convex'")


def bc_direction(alpha: Callable[[], float], form: str, scale: float, a_beta: Target):
    """The actor_directions hook of the BC penalty (see module docstring)."""

    def hook(
        agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor
    ) -> tuple[Tensor, Metrics]:
        grad_d, metrics = distance_gradient(actions, a_beta(batch), scale)
        w = alpha()
        if form == "eq6":
            return g + w * grad_d, metrics
        return w * g + (1.0 - w) * grad_d, metrics

    return hook


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    scale = bc_scale(p.bc_reduce, ctx.agent.act_dim)
    a_beta = behaviour_target(ctx.pretrained, p.target)
    ctx.agent.actor_directions.append(bc_direction(lambda: p.alpha, p.form, scale, a_beta))
    return [LogConstants({"alpha": p.alpha})]


MITIGATION = Mitigation("bc_penalty", Params, install, check)
