"""CCL-BC (Wexler, Sarafian & Kraus, section IV; the authors' CCL with the plain BC distance):
the BC penalty in its convex form, alpha (-Q) + (1 - alpha) D, with the confidence controller's
alpha (wsdiag.mitigations.ccl_pqd) in place of a fixed one."""

from __future__ import annotations

from wsdiag.agents.bc import bc_scale
from wsdiag.config.mitigations.ccl_bc import TABLE, Params
from wsdiag.core import Callback
from wsdiag.mitigations.base import Mitigation, MitigationContext
from wsdiag.mitigations.bc_penalty import bc_direction
from wsdiag.mitigations.behaviour import behaviour_target
from wsdiag.mitigations.ccl_pqd import ConfidenceController


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    controller = ConfidenceController(TABLE.name, ctx, p)
    scale = bc_scale(p.bc_reduce, ctx.agent.act_dim)
    a_beta = behaviour_target(ctx.pretrained, p.target)
    hook = bc_direction(lambda: controller.alpha, "convex", scale, a_beta)
    ctx.agent.actor_directions.append(hook)
    return [controller]


MITIGATION = Mitigation(TABLE, install)
