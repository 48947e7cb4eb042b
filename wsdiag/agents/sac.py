"""SAC with a learned temperature (Haarnoja et al., 2018, "SAC: Algorithms and Applications").

Tanh-squashed Gaussian actor. TD target
    y = r + gamma (1 - d) (min_e Q'_e(s', a') - alpha log pi(a'|s')),  a' ~ pi(.|s')
(without the entropy term when `backup_entropy = false`, as WSRL's SAC);
actor loss E[alpha log pi(a|s) - Q(s, a)] with a reparameterised and Q the min of the two critics
(REDQ's mean for E > 2); temperature loss -log(alpha) (log pi(a|s) + H_target), H_target = -dim(A).
Targets move by Polyak averaging after every critic update.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from wsdiag.agents.base import ActorCritic, adam, adopt_optimizer_state
from wsdiag.agents.networks import GaussianActor
from wsdiag.config import AgentConfig
from wsdiag.data.buffer import Batch


class SAC(ActorCritic):
    algo = "sac"
    targets_follow_actor = False

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        self.actor = GaussianActor(obs_dim, act_dim, cfg.hidden, cfg.layer_norm).to(self.device)
        self.actor_opt = adam(self.actor, cfg.actor_lr)
        init = torch.tensor(float(cfg.init_alpha), device=self.device).log()
        self.log_alpha = nn.Parameter(init, requires_grad=cfg.autotune_alpha)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.alpha_lr)
        te = cfg.target_entropy
        self.target_entropy = float(-act_dim if te is None else te)
        self._log_prob: Tensor | None = None

    @property
    def alpha(self) -> Tensor:
        return self.log_alpha.detach().exp()

    def policy(self, obs: Tensor) -> Tensor:
        return torch.tanh(self.actor(obs)[0])

    def policy_dist(self, obs: Tensor) -> torch.distributions.Normal:
        """The pre-squash Gaussian N(mu(s), sigma(s)^2)."""
        return torch.distributions.Normal(*self.actor(obs))

    def _explore(self, obs: Tensor) -> Tensor:
        return self.actor.sample(obs)[0]

    def backup_entropy(self) -> bool:
        """Whether the TD target has the entropy bonus (`backup_entropy`; WSRL: false)."""
        return self.cfg.backup_entropy

    def _next_action(self, next_obs: Tensor) -> tuple[Tensor, Tensor | None]:
        a, log_prob = self.actor.sample(next_obs)
        return a, (-self.alpha * log_prob if self.backup_entropy() else None)

    def _actor_loss(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        actions, log_prob = self.actor.sample(batch.obs)
        g, q, hook_metrics = self.actor_direction(batch, actions)
        alpha = self.alpha
        loss = alpha * log_prob.mean() + self.surrogate(actions, g)
        self._log_prob = log_prob.detach()
        value = (alpha * log_prob.detach() - q).mean()
        return loss, {"actor_loss": value, "entropy": -self._log_prob.mean(), **hook_metrics}

    def _after_actor_step(self) -> dict[str, Tensor]:
        metrics = {"alpha": self.alpha}
        if self.cfg.autotune_alpha and self._log_prob is not None:
            alpha_loss = -(self.log_alpha * (self._log_prob + self.target_entropy)).mean()
            self.alpha_opt.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_opt.step()
            metrics["alpha_loss"] = alpha_loss.detach()
        return metrics

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return super().optimizers() | {"alpha_opt": self.alpha_opt}

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"log_alpha": self.log_alpha.detach().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])

    def _copy_actor(self, source: ActorCritic, optimizers: bool) -> list[str]:
        loaded = super()._copy_actor(source, optimizers)
        if isinstance(source, SAC):
            with torch.no_grad():
                self.log_alpha.copy_(source.log_alpha)
            loaded.append("log_alpha")
            if optimizers:
                adopt_optimizer_state(self.alpha_opt, source.alpha_opt)
        return loaded
