"""BC penalty on the critic target (Wexler, Sarafian & Kraus, section III-B).

The paper's critic loss E[(r + gamma (Q'(s', a') - alpha D(a_beta', pi(s'))) - Q(s, a))^2] with
D = c ||.||^2, in the online form (a' the agent's own target action, as usual):

    y <- y - gamma (1 - terminated) alpha c ||pi(s') - a_beta(s')||^2

with pi(s') the fine-tuning policy's deterministic action and a_beta(s') the pretrained one's,
no gradient through the penalty, installed as a target hook of the agent, so TD3, DDPG and SAC
(whose entropy bonus stays inside y) all take it. Records `mitigation/critic_bc_distance`.
"""

from __future__ import annotations

from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.agents.bc import bc_error, bc_scale
from wsdiag.config.mitigations.critic_bc import TABLE, Params
from wsdiag.core import Callback
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.base import LogConstants, Mitigation, MitigationContext


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    scale = bc_scale(p.bc_reduce, ctx.agent.act_dim)
    pretrained = ctx.pretrained

    def penalise(agent: ActorCritic, batch: Batch, y: Tensor) -> tuple[Tensor, Metrics]:
        d = bc_error(agent.policy(batch.next_obs), pretrained.policy(batch.next_obs), scale)
        y = y - agent.gamma * (1.0 - batch.terminated) * p.alpha * d
        return y, {"mitigation/critic_bc_distance": d.mean()}

    ctx.agent.target_hooks.append(penalise)
    return [LogConstants({"alpha": p.alpha})]


MITIGATION = Mitigation(TABLE, install)
