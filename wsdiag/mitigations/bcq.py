"""Online BCQ perturbation (Wexler, Sarafian & Kraus, eq. 4, after Fujimoto et al.'s BCQ).

The policy becomes the frozen behavioural policy plus a bounded learned perturbation,

    pi(s) = clip(a_beta + Phi tanh(xi_theta(s, a_beta)), -1, 1),   a_beta = pi_beta(s),

and TD3/DDPG maximise E[Q(s, pi(s))] over theta only: max_theta E[Q(s, a_beta + xi(s, a_beta))].
xi's last layer starts at zero, so fine-tuning starts exactly at pi_beta; Phi bounds how far the
policy can ever move from it. pi_beta is the actor the warm start loaded (the pretrained policy).
This changes the actor network, so it is a structural hook: it runs before a checkpoint is
loaded into the agent, and `wsdiag probe` rebuilds the same network from the run's config.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from wsdiag.agents.base import ActorCritic, adam
from wsdiag.agents.networks import DeterministicActor, mlp
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.params import MitigationConfig
from wsdiag.mitigations.registry import MitigationContext, register, register_structure
from wsdiag.training.callbacks import Callback


class PerturbationActor(nn.Module):
    """pi(s) = clip(pi_beta(s) + phi tanh(xi(s, pi_beta(s))), -1, 1) with pi_beta frozen."""

    def __init__(self, base: nn.Module, obs_dim: int, act_dim: int, hidden, phi: float) -> None:
        super().__init__()
        self.base = copy.deepcopy(base).requires_grad_(False)
        self.xi = mlp([obs_dim + act_dim, *hidden, act_dim])
        nn.init.zeros_(self.xi[-1].weight)
        nn.init.zeros_(self.xi[-1].bias)
        self.phi = phi

    def forward(self, obs: Tensor) -> Tensor:
        with torch.no_grad():
            a_beta = self.base(obs)
        xi = torch.tanh(self.xi(torch.cat([obs, a_beta], dim=-1)))
        return (a_beta + self.phi * xi).clamp(-1.0, 1.0)


@register_structure("bcq")
def install_bcq(agent: ActorCritic, mitigation: MitigationConfig) -> None:
    """Wrap the agent's (warm-started) deterministic actor in a perturbation actor."""
    if not isinstance(agent.actor, DeterministicActor) or not hasattr(agent, "actor_target"):
        raise WsdiagError(
            f"mitigation 'bcq' perturbs a deterministic actor: use td3 or ddpg, not {agent.algo}"
        )
    p = mitigation.bcq
    actor = PerturbationActor(agent.actor, agent.obs_dim, agent.act_dim, p.hidden, p.phi)
    agent.actor = actor.to(agent.device)
    agent.actor_target = copy.deepcopy(agent.actor).requires_grad_(False)
    agent.actor_opt = adam(agent.actor.xi, agent.cfg.actor_lr)


@register("bcq")
def build_bcq(ctx: MitigationContext) -> list[Callback]:
    """Nothing beyond the structural change: TD3/DDPG's own actor loss trains xi."""
    return []
