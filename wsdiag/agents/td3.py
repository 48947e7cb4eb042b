"""TD3 (Fujimoto, van Hoof & Meger, 2018) and DDPG as re-tuned in the same paper ("OurDDPG").

TD3: clipped double-Q targets, target policy smoothing a' = clip(pi'(s') + clip(eps, -c, c), -1, 1)
with eps ~ N(0, 0.2^2), c = 0.5; the actor maximises Q_1(s, pi(s)) every 2 critic updates, and the
targets move by Polyak averaging (tau = 5e-3) on those same steps. Exploration adds N(0, 0.1^2).
DDPG: one critic, no smoothing, no delay, the same networks and learning rates.
With E > 2 critics and a target subset M, the target is REDQ's min over a random M of E.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from wsdiag.agents.base import ActorCritic, adam, load_module, soft_update
from wsdiag.agents.networks import DeterministicActor
from wsdiag.config import AgentConfig, FinetuneConfig
from wsdiag.data.buffer import Batch


class TD3(ActorCritic):
    algo = "td3"
    smoothing = True

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        self.actor = DeterministicActor(obs_dim, act_dim, cfg.hidden, cfg.layer_norm).to(
            self.device
        )
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.actor_opt = adam(self.actor, cfg.actor_lr)

    def policy(self, obs: Tensor) -> Tensor:
        return self.actor(obs)

    def policy_dist(self, obs: Tensor) -> torch.distributions.Normal:
        """N(pi(s), sigma^2 I): the deterministic actor with its exploration noise sigma =
        expl_noise, or TD3's default when it explores without noise (SB3's TD3 by default),
        so that the KL probes stay finite."""
        mean = self.actor(obs)
        std = self.cfg.expl_noise or FinetuneConfig.expl_noise
        return torch.distributions.Normal(mean, torch.full_like(mean, std))

    def _explore(self, obs: Tensor) -> Tensor:
        a = self.actor(obs)
        return (a + self.cfg.expl_noise * torch.randn_like(a)).clamp(-1.0, 1.0)

    def _next_action(self, next_obs: Tensor) -> tuple[Tensor, None]:
        a = self.actor_target(next_obs)
        if self.smoothing:
            noise = (self.cfg.policy_noise * torch.randn_like(a)).clamp(
                -self.cfg.noise_clip, self.cfg.noise_clip
            )
            a = (a + noise).clamp(-1.0, 1.0)
        return a, None

    def _actor_loss(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """Loss -mean Q(s, pi(s)), back-propagated as the action-space direction g."""
        actions = self.actor(batch.obs)
        g, q, hook_metrics = self.actor_direction(batch, actions)
        return self.surrogate(actions, g), {"actor_loss": -q.mean(), **hook_metrics}

    def _update_targets(self) -> None:
        soft_update(self.critic_target, self.critic, self.tau)
        soft_update(self.actor_target, self.actor, self.tau)

    def modules(self) -> dict[str, nn.Module]:
        return super().modules() | {"actor_target": self.actor_target}

    def _copy_actor(self, source: ActorCritic, optimizers: bool) -> list[str]:
        loaded = super()._copy_actor(source, optimizers)
        target = getattr(source, "actor_target", source.actor)
        load_module(self.actor_target, target.state_dict(), "actor_target")
        return [*loaded, "actor_target"]


class DDPG(TD3):
    """DDPG (Lillicrap et al., 2016) in the TD3 paper's re-tuned form: one critic and no policy
    delay by default (wsdiag.config.algorithms.ALGORITHMS)."""

    algo = "ddpg"
    smoothing = False
