"""Gradient penalty on the critic (TD3BC++: Gao et al., "Gradient Penalty and Critic Weighted
Constraint Relaxation for Offline RL on Contaminated Datasets", eq. 8 and Listing 1).

    L_GP = lambda_GP sum_e mean_{s, a} ReLU(||dQ_e(s, a)/da||_2 - k)^2

added to the critic's TD loss on every `every`-th critic update (0 on the others), with k = 1,
the norm per critic of the ensemble (summed over critics, as Listing 1 sums the two critics'
terms) and a drawn `n_actions` = 16 times per batch state: uniformly in [-1, 1]^da (Listing 1 and
the paper's experiments), from the policy's exploration distribution, or the batch's own
(dataset) action once per state. The penalty is differentiated through the input gradient
(double backward), so it shapes the critic's weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import CriticRegulariser, Metrics
from wsdiag.agents.networks import EnsembleCritic
from wsdiag.config.mitigations.gradient_penalty import TABLE, Params
from wsdiag.core import Callback
from wsdiag.data.buffer import Batch
from wsdiag.mitigations.base import Mitigation, MitigationContext


def gradient_penalty(critic: EnsembleCritic, obs: Tensor, actions: Tensor, k: float) -> Tensor:
    """sum_e mean_i ReLU(||dQ_e(s_i, a_i)/da||_2 - k)^2 for obs [M, ds], actions [M, da].

    Every critic gets its own copy of the actions so that one backward pass gives the gradient
    of each Q_e separately; the graph is kept (create_graph) for the critic's update.
    """
    e = critic.ensemble
    a = actions.detach().unsqueeze(0).expand(e, -1, -1).clone().requires_grad_(True)
    q = critic(obs.detach().unsqueeze(0).expand(e, -1, -1), a)  # [E, M]
    (grad,) = torch.autograd.grad(q.sum(), a, create_graph=True)
    return F.relu(grad.norm(dim=-1) - k).pow(2).mean(1).sum()


def penalty_inputs(agent: ActorCritic, batch: Batch, source: str, n: int) -> tuple[Tensor, Tensor]:
    """The (states, actions) the penalty is evaluated on: each batch state n times (once for
    `dataset`) with uniform, policy-sampled or dataset actions."""
    if source == "dataset":
        return batch.obs, batch.actions
    obs = batch.obs.repeat(n, 1)
    if source == "uniform":
        return obs, torch.rand(obs.shape[0], agent.act_dim, device=obs.device) * 2.0 - 1.0
    with torch.no_grad():
        return obs, agent._explore(obs)


def gradient_penalty_regulariser(p: Params) -> CriticRegulariser:
    """The critic regulariser: lambda_GP L_GP on every p.every-th critic update, else 0;
    records `mitigation/gp_loss` on the updates that take it."""

    def regulariser(agent: ActorCritic, batch: Batch) -> tuple[Tensor, Metrics]:
        # critic_updates counts finished updates: this is update number critic_updates + 1.
        if (agent.critic_updates + 1) % p.every != 0:
            return batch.rewards.new_zeros(()), {}
        obs, actions = penalty_inputs(agent, batch, p.actions, p.n_actions)
        loss = p.weight * gradient_penalty(agent.critic, obs, actions, p.k)
        return loss, {"mitigation/gp_loss": loss.detach()}

    return regulariser


def add_penalty(agent: ActorCritic, p: Params) -> None:
    """Add the penalty to an agent's critic; an offline-training method too, so the
    pretraining critic takes it as well."""
    agent.critic_regularisers.append(gradient_penalty_regulariser(p))


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    add_penalty(ctx.agent, p)
    return []


MITIGATION = Mitigation(TABLE, install, pretrain=add_penalty)
