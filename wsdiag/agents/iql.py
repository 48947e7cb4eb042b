"""IQL (Kostrikov, Nair & Levine, 2021, "Offline Reinforcement Learning with Implicit Q-Learning").

Three networks learn from dataset transitions only; no action outside the dataset is queried.

    value:  L_V = mean_s |tau - 1(u < 0)| u^2,   u = min_e Q'_e(s, a) - V(s)     (expectile tau)
    critic: L_Q = sum_e mean_s (Q_e(s, a) - y)^2,   y = r + gamma (1 - terminated) V(s')
    actor:  L_pi = -mean_s w log pi(a|s),   w = min(exp(beta (min_e Q'_e(s, a) - V(s))), w_max)

Defaults (paper, MuJoCo locomotion; CORL `iql.py`): tau = 0.7 (`iql_expectile`), beta = 3.0
(`iql_beta`), w_max = 100 (`iql_max_weight`), Adam 3e-4 for V, Q and pi (`value_lr`,
`critic_lr`, `actor_lr`), batch 256, gamma 0.99, Polyak 5e-3 on Q' every step, two critics,
256-256 ReLU networks. One update, in CORL's order: V(s') for the TD target and the advantage
u are computed with V before its step; then V, Q (and Q') and pi each take a step.

Choices:
* The actor network is SAC's (`GaussianActor`, mean and log std heads, log std in [-20, 2]),
  so that an IQL actor warm-starts SAC; `iql_policy` says how IQL reads it.
  - "tanh_mean" (default; the authors' code, `tanh_squash_distribution=False`,
    `state_dependent_std=False`, and CORL): a Gaussian in action space, log pi(a|s) =
    log N(a; tanh mu(s), sigma^2) with one learned log sigma per dimension (the log-std head's
    weights are held at zero, its bias is log sigma, initialised 0). Exploring samples it and
    clips to [-1, 1]. SAC warm-started from it reads (mu, sigma) as its pre-squash Gaussian:
    the same deterministic action tanh mu(s), and a spread no wider under the squash.
  - "squashed": SAC's tanh-squashed Gaussian with a state-dependent std; the log-likelihood of
    a dataset action a is that of u = atanh(clip(a, -1 + eps, 1 - eps)) under N(mu(s), sigma(s))
    plus the tanh Jacobian -sum log(1 - a^2); eps = `iql_atanh_eps`. An expert at the action
    bounds (a = +-1) puts u at +-7.25 and the fitted sigma(s) at its clamp (e^2) wherever
    neighbouring actions take both signs (docs/offline.md).
* The actor's learning rate is constant; CORL (and the authors' code) anneal it with a cosine
  schedule over the 1M offline steps, which has no natural end in an online continuation.
* With E > 2 critics, "min over critics" is the min over the random subset of `target_subset`
  critics that the TD targets of the other agents use.
* The critic loss is summed over critics (as in every wsdiag agent); CORL averages the two,
  which Adam makes equivalent up to its epsilon.

`actor_directions` hooks do not apply (the actor loss never differentiates Q);
`critic_regularisers` are added to L_Q. Acting online samples the policy, as SAC does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsdiag.agents.base import ActorCritic, adam, adopt_optimizer_state, load_module
from wsdiag.agents.networks import GaussianActor, mlp
from wsdiag.agents.sac import SAC
from wsdiag.config import AgentConfig
from wsdiag.config.algorithms import iql
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError


def expectile_loss(diff: Tensor, expectile: float) -> Tensor:
    """mean |tau - 1(diff < 0)| diff^2: weight tau above zero, 1 - tau below."""
    weight = torch.where(diff < 0, 1.0 - expectile, expectile)
    return (weight * diff.pow(2)).mean()


def advantage_weights(adv: Tensor, beta: float, max_weight: float) -> Tensor:
    """exp(beta A) clipped at max_weight (no gradient)."""
    return torch.exp(beta * adv.detach()).clamp(max=max_weight)


def tanh_mean_log_prob(actor: GaussianActor, obs: Tensor, actions: Tensor) -> Tensor:
    """log N(a; tanh mu(s), sigma^2) of given actions, summed over dimensions, [N]."""
    mean, std = actor(obs)
    return torch.distributions.Normal(torch.tanh(mean), std).log_prob(actions).sum(-1)


def hold_std_state_independent(actor: GaussianActor) -> None:
    """Zero the log-std head's weights and keep their gradient zero: log sigma is the head's
    bias alone, one learned value per action dimension, initialised 0 (sigma = 1)."""
    act_dim = actor.head.out_features // 2
    with torch.no_grad():
        actor.head.weight[act_dim:].zero_()
        actor.head.bias[act_dim:].zero_()
    mask = torch.ones_like(actor.head.weight)
    mask[act_dim:] = 0.0
    actor.head.weight.register_hook(lambda grad: grad * mask)


def squashed_log_prob(actor: GaussianActor, obs: Tensor, actions: Tensor, eps: float) -> Tensor:
    """log pi(a|s) of given actions in [-1, 1] under the tanh-squashed Gaussian, [N]."""
    mean, std = actor(obs)
    u = torch.atanh(actions.clamp(-1.0 + eps, 1.0 - eps))
    log_normal = torch.distributions.Normal(mean, std).log_prob(u).sum(-1)
    return log_normal - (2 * (math.log(2.0) - u - F.softplus(-2 * u))).sum(-1)


class IQL(ActorCritic):
    """Implicit Q-learning with a tanh-Gaussian actor; warm-starts the actor of SAC."""

    algo = "iql"
    targets_follow_actor = False

    # The deterministic action and the distribution the probes compare are SAC's reading of the
    # same network (tanh mu(s); N(mu, sigma) before the squash), as a warm-started SAC reads it.
    policy = SAC.policy
    policy_dist = SAC.policy_dist

    def _explore(self, obs: Tensor) -> Tensor:
        """a ~ N(tanh mu(s), sigma^2) clipped to [-1, 1] ("tanh_mean"), else SAC's sample."""
        if self.params.iql_policy != "tanh_mean":
            return SAC._explore(self, obs)
        mean, std = self.actor(obs)
        return (torch.tanh(mean) + std * torch.randn_like(mean)).clamp(-1.0, 1.0)

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        self.params = p = self.cfg.params_as(iql.Params)
        if not p.iql_expectile < 1.0:  # tau = 1 regresses V on the max: no expectile
            raise WsdiagError(f"iql_expectile must be in (0, 1), got {p.iql_expectile}")
        self.actor = GaussianActor(obs_dim, act_dim, cfg.hidden, cfg.layer_norm).to(self.device)
        if p.iql_policy == "tanh_mean":
            hold_std_state_independent(self.actor)
        self.actor_opt = adam(self.actor, cfg.actor_lr)
        self.value = mlp([obs_dim, *cfg.hidden, 1], cfg.layer_norm).to(self.device)
        self.value_opt = adam(self.value, p.value_lr)

    def v(self, obs: Tensor) -> Tensor:
        """V(s), [N]."""
        return self.value(self.critic.obs_norm(obs)).squeeze(-1)  # the agent's statistics

    def target_q(self, batch: Batch) -> Tensor:
        """min over target critics of Q'(s, a) at the dataset actions, [N] (no gradient)."""
        with torch.no_grad():
            q = self.critic_target(batch.obs, batch.actions, self._target_members())
            return q.min(0).values

    def _bootstrap(self, batch: Batch) -> Tensor:
        """y = r + gamma (1 - terminated) V(s'); truncation bootstraps."""
        return batch.rewards + self.gamma * (1.0 - batch.terminated) * self.v(batch.next_obs)

    def value_loss(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
        """(expectile loss of V, advantage Q'(s, a) - V(s), V(s)); the last two detached."""
        v = self.v(batch.obs)
        adv = self.target_q(batch) - v
        return expectile_loss(adv, self.params.iql_expectile), adv.detach(), v.detach()

    def _actor_loss(
        self, batch: Batch, adv: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        if adv is None:
            with torch.no_grad():
                adv = self.target_q(batch) - self.v(batch.obs)
        p = self.params
        w = advantage_weights(adv, p.iql_beta, p.iql_max_weight)
        if p.iql_policy == "tanh_mean":
            log_prob = tanh_mean_log_prob(self.actor, batch.obs, batch.actions)
        else:
            log_prob = squashed_log_prob(self.actor, batch.obs, batch.actions, p.iql_atanh_eps)
        loss = -(w * log_prob).mean()
        metrics = {"actor_loss": loss.detach(), "log_prob": log_prob.detach().mean()}
        return loss, metrics | {"weight_mean": w.mean(), "adv_mean": adv.mean()}

    def update(self, batch: Batch, update_actor: bool = True) -> dict[str, float]:
        """V, Q and (every `policy_delay` updates) pi, each from the networks before this update."""
        v_loss, adv, v_s = self.value_loss(batch)
        q_loss, q, metrics = self.critic_loss_with_metrics(batch)  # target: V(s') before V's step
        self.value_opt.zero_grad(set_to_none=True)
        v_loss.backward()
        self.value_opt.step()
        self.critic_opt.zero_grad(set_to_none=True)
        q_loss.backward()
        self.critic_opt.step()
        self.critic_updates += 1
        self._update_targets()
        metrics |= {"critic_loss": q_loss.detach(), "q_mean": q.detach().mean()}
        metrics |= {"value_loss": v_loss.detach(), "v_mean": v_s.mean()}
        if update_actor and self.critic_updates % self.policy_delay == 0:
            actor_loss, actor_metrics = self._actor_loss(batch, adv)
            metrics |= actor_metrics | self.actor_step(actor_loss)
        return {k: float(v) for k, v in metrics.items()}

    # ------------------------------------------------------------------ persistence

    def modules(self) -> dict[str, nn.Module]:
        return super().modules() | {"value": self.value}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return super().optimizers() | {"value_opt": self.value_opt}

    def warm_start(
        self, source: ActorCritic, parts: Iterable[str], optimizers: bool = False
    ) -> list[str]:
        """As the base class; "critic" from another IQL agent also copies V (and its Adam)."""
        parts = list(parts)
        loaded = super().warm_start(source, parts, optimizers)
        if "critic" in parts and isinstance(source, IQL):
            load_module(self.value, source.value.state_dict(), "value")
            loaded.append("value")
            if optimizers:
                adopt_optimizer_state(self.value_opt, source.value_opt)
                loaded.append("value_opt")
        return loaded
