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

from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.agents.bc import bc_scale
from wsdiag.config.mitigations.bc_penalty import TABLE, Params
from wsdiag.core import Callback
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.base import LogConstants, Mitigation, MitigationContext
from wsdiag.mitigations.behaviour import Target, behaviour_target, distance_gradient


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


MITIGATION = Mitigation(TABLE, install)
