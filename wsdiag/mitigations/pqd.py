"""Positive Q-value Distance (Wexler, Sarafian & Kraus, section IV-A, eqs. 10-12): PQD-only.

Both vectors are loss gradients w.r.t. the action a = pi(s): g = -dQ/da (the agents' direction)
and grad_D = 2 c (a - a_beta) for D = c ||a - a_beta||^2. Eqs. 10-11:

    q_pqd = grad_D                                   if grad_D . g > 0
    q_pqd = grad_D - (grad_D . g / ||g||^2) g        otherwise (the vector rejection from g)

so following -q_pqd never lowers Q to first order. Eq. 12 mixes q_pqd with the remaining policy
gradient q_rest = g - q_pqd by alpha. Reading: the paper says alpha = 1 is the vanilla policy
gradient and alpha = 0 pure (positive) imitation, and its base objective (eq. 7) is
alpha Q + (1 - alpha) D; the update consistent with both (and the authors' code) is

    mix = "eq7":  g <- q_pqd + alpha q_rest = (1 - alpha) q_pqd + alpha g      (default)

The extracted eq. 12, (1 - alpha) q_pqd + alpha q_rest, is available as `mix = "eq12"`; it gives
g - q_pqd at alpha = 1, not the vanilla gradient.

PQD-only (the paper's ablation) uses a fixed alpha; CCL-PQD (wsdiag.mitigations.ccl_pqd) moves
it. Records `mitigation/bc_distance` and `mitigation/pqd_rejected` (the fraction of states whose
BC gradient opposed the policy gradient and was projected).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.agents.bc import bc_scale
from wsdiag.config.mitigations import ccl_pqd
from wsdiag.config.mitigations.pqd import TABLE, Params
from wsdiag.core import Callback
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.base import LogConstants, Mitigation, MitigationContext
from wsdiag.mitigations.behaviour import Target, behaviour_target, distance_gradient


def pqd_vector(grad_d: Tensor, g: Tensor) -> Tensor:
    """Eqs. 10-11 per row: grad_D where it agrees with g, its rejection from g elsewhere."""
    dot = (grad_d * g).sum(-1, keepdim=True)
    sq = g.pow(2).sum(-1, keepdim=True)
    coef = dot / sq.clamp_min(1e-30)
    coef = coef.where(sq > 0, 0.0)
    return (grad_d - coef * g).where(dot <= 0, grad_d)


def pqd_mix(q_pqd: Tensor, g: Tensor, alpha: float, mix: str) -> Tensor:
    """Eq. 12 (see module docstring for the two readings)."""
    rest = g - q_pqd
    if mix == "eq12":
        return (1.0 - alpha) * q_pqd + alpha * rest
    return q_pqd + alpha * rest


def pqd_direction(alpha: Callable[[], float], mix: str, scale: float, a_beta: Target):
    """The actor_directions hook of PQD / CCL-PQD."""

    def hook(
        agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor
    ) -> tuple[Tensor, Metrics]:
        grad_d, metrics = distance_gradient(actions, a_beta(batch), scale)
        metrics["mitigation/pqd_rejected"] = ((grad_d * g).sum(-1) <= 0).float().mean()
        return pqd_mix(pqd_vector(grad_d, g), g, alpha(), mix), metrics

    return hook


def projection_hook(ctx: MitigationContext, p: Params | ccl_pqd.Params, alpha: Callable[[], float]):
    """The PQD hook for parameters with mix, bc_reduce and target (PQD, CCL-PQD)."""
    scale = bc_scale(p.bc_reduce, ctx.agent.act_dim)
    return pqd_direction(alpha, p.mix, scale, behaviour_target(ctx.pretrained, p.target))


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    ctx.agent.actor_directions.append(projection_hook(ctx, p, lambda: p.alpha))
    return [LogConstants({"alpha": p.alpha})]


MITIGATION = Mitigation(TABLE, install)
