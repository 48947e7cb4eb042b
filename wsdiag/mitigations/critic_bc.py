"""BC penalty on the critic target (Wexler, Sarafian & Kraus, section III-B).

The paper's critic loss E[(r + gamma (Q'(s', a') - alpha D(a_beta', pi(s'))) - Q(s, a))^2] with
D = c ||.||^2, in the online form (a' the agent's own target action, as usual):

    y <- y - gamma (1 - terminated) alpha c ||pi(s') - a_beta(s')||^2

with pi(s') the fine-tuning policy's deterministic action and a_beta(s') the pretrained one's,
no gradient through the penalty, installed as a target hook of the agent, so TD3, DDPG and SAC
(whose entropy bonus stays inside y) all take it. Records `mitigation/critic_bc_distance`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.agents.bc import bc_error, bc_scale
from wsdiag.core import Callback
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.base import LogConstants, Mitigation, MitigationContext, need, one_of
from wsdiag.mitigations.behaviour import REDUCTIONS


@dataclass(frozen=True)
class Params:
    """[mitigation.critic_bc]"""

    alpha: float = 0.1  # y = r + gamma (1 - d) (Q'(s', a') - alpha D(a_beta(s'), a'))
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean")


def check(p: Params) -> None:
    need(p.alpha >= 0, f"mitigation.critic_bc.alpha must be >= 0, got {p.alpha}")
    one_of(p.bc_reduce, REDUCTIONS, "mitigation.critic_bc.bc_reduce")


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    scale = bc_scale(p.bc_reduce, ctx.agent.act_dim)
    pretrained = ctx.pretrained

    def penalise(agent: ActorCritic, batch: Batch, y: Tensor) -> tuple[Tensor, Metrics]:
        d = bc_error(agent.policy(batch.next_obs), pretrained.policy(batch.next_obs), scale)
        y = y - agent.gamma * (1.0 - batch.terminated) * p.alpha * d
        return y, {"mitigation/critic_bc_distance": d.mean()}

    ctx.agent.target_hooks.append(penalise)
    return [LogConstants({"alpha": p.alpha})]


MITIGATION = Mitigation("critic_bc", Params, install, check)
