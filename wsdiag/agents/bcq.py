"""Online BCQ (Wexler, Sarafian & Kraus, eq. 4, after Fujimoto, Meger & Precup's BCQ): TD3 whose
policy is the frozen behavioural policy plus a bounded learned perturbation,

    pi(s) = clip(a_beta + phi tanh(xi_theta(x)), -1, 1),   a_beta = pi_beta(s),

with x = s (`bcq_input = "state"`, the authors' TD3_BC_Pertubation.py) or x = (s, a_beta)
("state_action", BCQ's own form), and the actor maximising E[Q(s, pi(s))] over theta only.
pi_beta is the actor the warm start loads (so `warmstart.load` must name "actor"). phi
(`bcq_phi`, in units of the action half-range) bounds how far the policy can ever move from it;
the authors' scripts use phi in {0.01, 0.1, 0.2, 0.25, 1}. xi's last layer starts random
(`bcq_init = "random"`, the authors' code: fine-tuning starts within phi of pi_beta) or at zero
("zero": it starts exactly at pi_beta). Critics, targets, smoothing and delay are TD3's (the
authors' target policy uses the online perturbation network, wsdiag TD3's target copy). The
perturbation network belongs to the agent, so its checkpoints rebuild like any other's.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from wsdiag.agents.base import ActorCritic, adam, load_module
from wsdiag.agents.networks import DeterministicActor, mlp
from wsdiag.agents.td3 import TD3
from wsdiag.config import AgentConfig
from wsdiag.config.algorithms import bcq
from wsdiag.errors import WsdiagError


class PerturbationActor(nn.Module):
    """pi(s) = clip(pi_beta(s) + phi tanh(xi(x)), -1, 1) with pi_beta frozen (module docstring)."""

    def __init__(self, base: DeterministicActor, act_dim: int, p: bcq.Params, obs_dim: int) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.with_action = p.bcq_input == "state_action"
        (sizes,) = p.networks(obs_dim, act_dim, ())
        self.xi = mlp(sizes)
        if p.bcq_init == "zero":
            nn.init.zeros_(self.xi[-1].weight)
            nn.init.zeros_(self.xi[-1].bias)
        self.phi = p.bcq_phi

    def forward(self, obs: Tensor) -> Tensor:
        with torch.no_grad():
            a_beta = self.base(obs)
        x = self.base.obs_norm(obs)
        x = torch.cat([x, a_beta], dim=-1) if self.with_action else x
        return (a_beta + self.phi * torch.tanh(self.xi(x))).clamp(-1.0, 1.0)


class BCQ(TD3):
    """TD3 with the perturbation actor above; Adam trains xi only."""

    algo = "bcq"

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        p = self.cfg.params_as(bcq.Params)

        def perturbed() -> PerturbationActor:
            base = DeterministicActor(obs_dim, act_dim, cfg.hidden, cfg.layer_norm)
            return PerturbationActor(base, act_dim, p, obs_dim)

        self.actor = perturbed().to(self.device)
        self.actor_target = perturbed().to(self.device).requires_grad_(False)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.actor_opt = adam(self.actor.xi, cfg.actor_lr)

    def _copy_actor(self, source: ActorCritic, optimizers: bool) -> list[str]:
        """pi_beta <- the source's deterministic actor (its target for the target policy); the
        source's Adam state, which belongs to pi_beta's weights, is not taken."""
        if not isinstance(source.actor, DeterministicActor):
            raise WsdiagError(
                f"bcq perturbs a deterministic actor: warm-start it from td3, ddpg, td3bc or bc, "
                f"not {source.algo}"
            )
        target = getattr(source, "actor_target", source.actor)
        load_module(self.actor.base, source.actor.state_dict(), "actor")
        load_module(self.actor_target.base, target.state_dict(), "actor_target")
        return ["actor", "actor_target"]
