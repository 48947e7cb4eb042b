"""CCL-BC (Wexler, Sarafian & Kraus, section IV; the authors' CCL with the plain BC distance):
the BC penalty in its convex form, alpha (-Q) + (1 - alpha) D, with the confidence controller's
alpha (wsdiag.mitigations.ccl_pqd) in place of a fixed one."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.agents.bc import bc_scale
from wsdiag.core import Callback
from wsdiag.mitigations.base import Mitigation, MitigationContext, one_of
from wsdiag.mitigations.bc_penalty import bc_direction
from wsdiag.mitigations.behaviour import REDUCTIONS, TARGETS, behaviour_target
from wsdiag.mitigations.ccl_pqd import ConfidenceController, ConfidenceParams, check_confidence

NAME = "ccl_bc"


@dataclass(frozen=True)
class Params(ConfidenceParams):
    """[mitigation.ccl_bc] The controller's fields and the BC distance's."""

    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


def check(p: Params) -> None:
    where = f"mitigation.{NAME}"
    check_confidence(p, where)
    one_of(p.bc_reduce, REDUCTIONS, f"{where}.bc_reduce")
    one_of(p.target, TARGETS, f"{where}.target")


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    controller = ConfidenceController(NAME, ctx, p)
    scale = bc_scale(p.bc_reduce, ctx.agent.act_dim)
    a_beta = behaviour_target(ctx.pretrained, p.target)
    hook = bc_direction(lambda: controller.alpha, "convex", scale, a_beta)
    ctx.agent.actor_directions.append(hook)
    return [controller]


MITIGATION = Mitigation(NAME, Params, install, check)
