"""CCL-PQD (Wexler, Sarafian & Kraus, section IV): the PQD update (wsdiag.mitigations.pqd) mixed
by the confidence controller's alpha (wsdiag.mitigations.confidence)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.core import Callback
from wsdiag.mitigations.base import Mitigation, MitigationContext
from wsdiag.mitigations.confidence import ConfidenceController, ConfidenceParams, check_confidence
from wsdiag.mitigations.pqd import check_projection, projection_hook

NAME = "ccl_pqd"


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
