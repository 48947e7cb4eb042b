"""BC penalty on the critic target (Wexler, Sarafian & Kraus, section III-B).

The paper's critic loss E[(r + gamma (Q'(s', a') - alpha D(a_beta', pi(s'))) - Q(s, a))^2] with
D = c ||.||^2, in the online form (a' the agent's own target action, as usual):

    y <- y - gamma (1 - terminated) alpha c ||pi(s') - a_beta(s')||^2

with pi(s') the fine-tuning policy's deterministic action and a_beta(s') the pretrained one's,
no gradient through the penalty, installed as a target hook of the agent, so TD3, DDPG and SAC
(whose entropy bonus stays inside y) all take it.
Records `mitigation/critic_bc_distance`.
"""

from __future__ import annotations

from torch import Tensor

from wsdiag.agents.base import ActorCritic
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.bc_penalty import HookStats, distance_scale
from wsdiag.mitigations.registry import MitigationContext, register
from wsdiag.training.callbacks import Callback


@register("critic_bc")
def build_critic_bc(ctx: MitigationContext) -> list[Callback]:
    p = ctx.config.mitigation.critic_bc
    scale = distance_scale(ctx, p.bc_reduce, "mitigation.critic_bc.bc_reduce")
    agent, pretrained = ctx.agent, ctx.pretrained
    stats = HookStats(ctx.config.log.train_every, {"alpha": p.alpha})

    def penalise(agent: ActorCritic, batch: Batch, y: Tensor) -> Tensor:
        diff = agent.policy(batch.next_obs) - pretrained.policy(batch.next_obs)
        d = scale * diff.pow(2).sum(-1)
        stats.stats["critic_bc_distance"] = d.mean()
        return y - agent.gamma * (1.0 - batch.terminated) * p.alpha * d

    agent.target_hooks.append(penalise)
    return [stats]
