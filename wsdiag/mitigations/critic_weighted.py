"""Critic-weighted constraint relaxation (Gao et al., TD3BC++, eq. 10, Listing 1).

The BC term of TD3+BC is weighted per transition by the min-max-normalised critic value of the
dataset action over the batch, with no gradient through the weight:

    W_i = (Q(s_i, a_i) - min_j Q(s_j, a_j)) / (max_j Q(s_j, a_j) - min_j Q(s_j, a_j))   in [0, 1]
    L(pi) = mean_i [ -lambda Q(s_i, pi(s_i)) + W_i err(pi(s_i), a_i) ],  lambda = alpha / mean|Q|

Q(s, a) is the ensemble mean (Listing 1 averages the two critics; `reduce = "min"` is an option).
It is the per-transition weight of the TD3+BC agent's direction (wsdiag.agents.td3_bc), so it
needs `finetune.algo = "td3bc"`. `normalise = "none"` uses the raw Q as the weight, as Listing 1
prints it (no min-max step). Records `mitigation/cr_weight_mean`.
"""

from __future__ import annotations

from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.agents.td3_bc import TD3BC, BCWeight
from wsdiag.config import Config
from wsdiag.config.mitigations.critic_weighted import TABLE, Params
from wsdiag.core import Callback
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.base import Mitigation, MitigationContext


def relaxation_weights(q: Tensor, normalise: str = "minmax", eps: float = 1e-8) -> Tensor:
    """W = (Q - min Q) / (max Q - min Q) over the batch, detached; `none`: Q itself, detached."""
    q = q.detach()
    if normalise == "none":
        return q
    low = q.min()
    return (q - low) / (q.max() - low).clamp_min(eps)


def critic_weight(p: Params) -> BCWeight:
    """The TD3BC agent's `bc_weight`: W of each transition's dataset action."""

    def weight(agent: ActorCritic, batch: Batch) -> tuple[Tensor, Metrics]:
        q_data = agent.q_values(batch.obs, batch.actions)  # [E, N], no gradient
        q_data = q_data.mean(0) if p.reduce == "mean" else q_data.min(0).values
        w = relaxation_weights(q_data, p.normalise)
        return w, {"mitigation/cr_weight_mean": w.mean()}

    return weight


def relax(agent: ActorCritic, p: Params) -> None:
    """Weight a TD3+BC agent's BC term by W (a pretraining agent of another kind is left as is:
    the relaxation belongs to TD3+BC)."""
    if isinstance(agent, TD3BC):
        agent.bc_weight = critic_weight(p)


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    relax(ctx.agent, p)
    return []


def relaxes_pretraining(config: Config) -> bool:
    """The relaxation belongs to TD3+BC: it changes a td3bc pretraining only."""
    return config.pretrain.algo == "td3bc"


MITIGATION = Mitigation(TABLE, install, pretrain=relax, pretrains=relaxes_pretraining)
