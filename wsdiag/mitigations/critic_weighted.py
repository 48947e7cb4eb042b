"""Critic-weighted constraint relaxation, and TD3BC++ = TD3+BC + gradient penalty + relaxation
(Gao et al., TD3BC++, eqs. 10 and 12, Listing 1).

The BC term of TD3+BC is weighted per transition by the min-max-normalised critic value of the
dataset action over the batch, with no gradient through the weight:

    W_i = (Q(s_i, a_i) - min_j Q(s_j, a_j)) / (max_j Q(s_j, a_j) - min_j Q(s_j, a_j))   in [0, 1]
    L(pi) = mean_i [ -lambda Q(s_i, pi(s_i)) + W_i err(pi(s_i), a_i) ],  lambda = alpha / mean|Q|

Q(s, a) is the ensemble mean (Listing 1 averages the two critics; `reduce = "min"` is an option).
In the action-space form this replaces TD3+BC's direction by

    g <- lambda g + 2 c W_i (a - a_data)

`normalise = "none"` uses the raw Q as the weight, as Listing 1 prints it (no min-max step).
"""

from __future__ import annotations

from torch import Tensor

from wsdiag.agents.base import ActorCritic, ActorDirection
from wsdiag.agents.bc import bc_error
from wsdiag.agents.td3_bc import TD3BC, td3bc_direction
from wsdiag.config import Config
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.gradient_penalty import LastValueLogger, install_gradient_penalty
from wsdiag.mitigations.params_recipes import CriticWeightedParams
from wsdiag.mitigations.registry import MitigationContext, register, register_pretraining
from wsdiag.training.callbacks import Callback

CR_NORMALISE = ("minmax", "none")
CR_REDUCE = ("mean", "min")


def relaxation_weights(q: Tensor, normalise: str = "minmax", eps: float = 1e-8) -> Tensor:
    """W = (Q - min Q) / (max Q - min Q) over the batch, detached; `none`: Q itself, detached."""
    q = q.detach()
    if normalise == "none":
        return q
    low = q.min()
    return (q - low) / (q.max() - low).clamp_min(eps)


def critic_weighted_direction(p: CriticWeightedParams, last: dict[str, float]) -> ActorDirection:
    """The TD3+BC direction with the BC part of each state weighted by W (needs a TD3BC agent)."""
    for value, allowed, key in (
        (p.normalise, CR_NORMALISE, "normalise"),
        (p.reduce, CR_REDUCE, "reduce"),
    ):
        if value not in allowed:
            raise WsdiagError(
                f"mitigation.critic_weighted.{key} = '{value}' is not one of {', '.join(allowed)}"
            )

    def direction(
        agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor
    ) -> Tensor:
        assert isinstance(agent, TD3BC)
        q_data = agent.q_values(batch.obs, batch.actions)  # [E, N], no gradient
        q_data = q_data.mean(0) if p.reduce == "mean" else q_data.min(0).values
        w = relaxation_weights(q_data, p.normalise)
        lam = agent.bc_alpha / q.abs().mean()
        bc = (w * bc_error(actions, batch.actions, agent.bc_scale)).mean()
        agent.last_bc = {"lambda": lam, "bc_loss": bc}
        last["cr_weight_mean"] = float(w.mean())
        return lam * g + 2.0 * agent.bc_scale * w.unsqueeze(-1) * (actions - batch.actions)

    return direction


def install_critic_weighted(agent: ActorCritic, p: CriticWeightedParams) -> dict[str, float]:
    """Replace the TD3+BC hook of a td3bc agent by the weighted one; returns its last values."""
    if not isinstance(agent, TD3BC) or td3bc_direction not in agent.actor_directions:
        raise WsdiagError(
            f"critic-weighted relaxation weights TD3+BC's BC term: set finetune.algo = 'td3bc' "
            f"(got '{agent.algo}')"
        )
    last: dict[str, float] = {}
    i = agent.actor_directions.index(td3bc_direction)
    agent.actor_directions[i] = critic_weighted_direction(p, last)
    return last


@register("critic_weighted")
def build_critic_weighted(ctx: MitigationContext) -> list[Callback]:
    last = install_critic_weighted(ctx.agent, ctx.config.mitigation.critic_weighted)
    return [LastValueLogger(last, ctx.config.log.train_every)]


@register_pretraining("critic_weighted")
def pretrain_critic_weighted(agent: ActorCritic, config: Config) -> None:
    if isinstance(agent, TD3BC):
        install_critic_weighted(agent, config.mitigation.critic_weighted)


@register_pretraining("td3bc_pp")
def pretrain_td3bc_pp(agent: ActorCritic, config: Config) -> None:
    """TD3BC++ pretraining: GP on the critic, and the relaxation when pretraining is TD3+BC."""
    install_gradient_penalty(agent, config.mitigation.gradient_penalty)
    pretrain_critic_weighted(agent, config)


@register("td3bc_pp")
def build_td3bc_pp(ctx: MitigationContext) -> list[Callback]:
    """TD3BC++: the [mitigation.gradient_penalty] and [mitigation.critic_weighted] sections."""
    m = ctx.config.mitigation
    last = install_critic_weighted(ctx.agent, m.critic_weighted)
    last_gp = install_gradient_penalty(ctx.agent, m.gradient_penalty)
    every = ctx.config.log.train_every
    return [LastValueLogger(last, every), LastValueLogger(last_gp, every)]
