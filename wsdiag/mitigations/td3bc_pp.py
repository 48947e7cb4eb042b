"""TD3BC++ (Gao et al., "Gradient Penalty and Critic Weighted Constraint Relaxation for Offline
RL on Contaminated Datasets"): TD3+BC with the gradient penalty on the critic
(wsdiag.mitigations.gradient_penalty) and the critic-weighted relaxation of the BC term
(wsdiag.mitigations.critic_weighted), both in pretraining (when it is TD3+BC) and fine-tuning.
Its table holds the fields of both.
"""

from __future__ import annotations

from wsdiag.agents import ActorCritic
from wsdiag.config.mitigations.td3bc_pp import TABLE, Params
from wsdiag.core import Callback
from wsdiag.mitigations import critic_weighted, gradient_penalty
from wsdiag.mitigations.base import Mitigation, MitigationContext


def apply(agent: ActorCritic, p: Params) -> None:
    gradient_penalty.add_penalty(agent, p)
    critic_weighted.relax(agent, p)


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    apply(ctx.agent, p)
    return []


MITIGATION = Mitigation(TABLE, install, pretrain=apply)
