"""The actor-critic machinery shared by TD3, DDPG and SAC.

The actor update is written as an action-space gradient (see DESIGN.md): with a = pi(s),
the critic gives g(s, a) = -dQ/da, every registered `ActorDirection` hook may rewrite g (a BC
penalty, PQD, ...), and the surrogate loss mean_s <a, stop_grad(g)> back-propagates g through pi.
With no hooks this is exactly the usual loss -mean_s Q(s, pi(s)), but the critic's weight
gradients are never computed. Critic regularisers are extra loss terms added to the TD loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from wsdiag.agents.networks import EnsembleCritic, ObsNorm
from wsdiag.config import AgentConfig, check_agent_params, resolve_agent
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError

# Every hook returns its value and the metrics it measured (namespaced keys such as
# "mitigation/bc_distance"), which `update()` returns with its own.
Metrics = dict[str, Tensor]
# (agent, batch, actions a = pi(s) [N, da], Q(s, a) [N], direction g [N, da]) -> (new direction,
# metrics); g is -dQ/da initially, and the actor's loss gradient w.r.t. a is g / N.
ActorDirection = Callable[["ActorCritic", Batch, Tensor, Tensor, Tensor], tuple[Tensor, Metrics]]
# (agent, batch) -> (scalar loss added to the critic's TD loss, metrics).
CriticRegulariser = Callable[["ActorCritic", Batch], tuple[Tensor, Metrics]]
# (agent, batch, y [N]) -> (new TD target, metrics), applied without gradient after y is formed.
TargetHook = Callable[["ActorCritic", Batch, Tensor], tuple[Tensor, Metrics]]
# (agent) -> metrics, after the actor's gradients are computed and before its optimiser steps.
ActorStepHook = Callable[["ActorCritic"], Metrics]


FIRST_CRITIC = slice(0, 1)  # a view of the ensemble's weights: no copy, unlike an index tensor


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging theta' <- (1 - tau) theta' + tau theta, one fused call."""
    with torch.no_grad():
        torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)


def adam(module: nn.Module, lr: float) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, fused=True)


def adopt_optimizer_state(own: torch.optim.Optimizer, source: torch.optim.Optimizer) -> None:
    """Take `source`'s Adam moments and step counts but keep `own` hyperparameters (lr, betas).

    `Optimizer.load_state_dict` also copies the param groups' settings, which would silently run
    fine-tuning at the pretraining learning rate; a warm start keeps the fine-tuning config's.
    """
    settings = [{k: v for k, v in g.items() if k != "params"} for g in own.param_groups]
    own.load_state_dict(source.state_dict())
    for group, kept in zip(own.param_groups, settings, strict=True):
        group.update(kept)


class ActorCritic:
    """Common state and update skeleton; subclasses define the actor, targets and actor loss.

    Subclasses set `self.actor` and implement `_next_action`, `_actor_loss`, `policy`,
    `policy_dist` and `_explore`. Randomness comes from torch's global RNG, which checkpoints
    save and restore, so that the same seed gives the same run.
    """

    algo = "base"
    targets_follow_actor = True  # TD3: targets move with the delayed actor; SAC: every step

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        check_agent_params(cfg, "")  # a config built in code: its algorithm's keys in range
        cfg = resolve_agent(cfg)  # its algorithm's defaults: ensemble, delay, subset, actor_q
        self.cfg = cfg
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.device = torch.device(device)
        self.gamma, self.tau = cfg.gamma, cfg.tau
        self.policy_delay: int = cfg.policy_delay  # type: ignore[assignment]
        self.ensemble: int = cfg.ensemble  # type: ignore[assignment]
        self.target_subset: int = cfg.target_subset  # type: ignore[assignment]
        if self.target_subset > self.ensemble:
            raise WsdiagError(f"target_subset {self.target_subset} > ensemble {self.ensemble}")
        self.actor_q = cfg.actor_q
        self.critic = EnsembleCritic(obs_dim, act_dim, self.ensemble, cfg.hidden, cfg.layer_norm)
        self.critic.to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.critic_opt = adam(self.critic, cfg.critic_lr)
        self.actor_directions: list[ActorDirection] = []
        self.critic_regularisers: list[CriticRegulariser] = []
        self.target_hooks: list[TargetHook] = []
        self.actor_step_hooks: list[ActorStepHook] = []
        self.critic_updates = 0
        self.actor_updates = 0
        self.actor: nn.Module  # set by subclasses
        self.actor_opt: torch.optim.Optimizer

    # ------------------------------------------------------------------ acting and querying

    def policy(self, obs: Tensor) -> Tensor:
        """The deterministic action pi(s) in [-1, 1]^da."""
        raise NotImplementedError

    def policy_dist(self, obs: Tensor) -> torch.distributions.Normal:
        """The policy as a pre-squash diagonal Gaussian."""
        raise NotImplementedError

    def _explore(self, obs: Tensor) -> Tensor:
        raise NotImplementedError

    @torch.inference_mode()
    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Action in [-1, 1]^da for one observation (or a batch) given as numpy."""
        o = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        single = o.dim() == 1
        o = o.unsqueeze(0) if single else o
        a = self._explore(o) if explore else self.policy(o)
        a = a.cpu().numpy()
        return a[0] if single else a

    def q_values(self, obs: Tensor, act: Tensor) -> Tensor:
        """Q_e(s, a) of every critic of the ensemble: [E, N] (no gradient)."""
        with torch.no_grad():
            return self.critic(obs, act)

    def _actor_q_of(self, obs: Tensor, actions: Tensor) -> Tensor:
        """The Q the actor maximises, per state: [N]."""
        if self.actor_q == "first":
            return self.critic(obs, actions, members=FIRST_CRITIC)[0]
        q = self.critic(obs, actions)
        return q.mean(0) if self.actor_q == "mean" else q.min(0).values

    # ------------------------------------------------------------------ learning

    def _next_action(self, next_obs: Tensor) -> tuple[Tensor, Tensor | None]:
        """Action a' for the TD target and, for SAC, its entropy bonus -alpha log pi(a'|s')."""
        raise NotImplementedError

    def _actor_loss(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """(loss to back-propagate into the actor, metrics including 'actor_loss')."""
        raise NotImplementedError

    def _after_actor_step(self) -> dict[str, Tensor]:
        """Extra steps after each actor step (SAC's temperature); returns metrics."""
        return {}

    def _target_members(self) -> Tensor | None:
        """REDQ: a random subset of M of the E target critics (None: all of them)."""
        e, m = self.ensemble, self.target_subset
        return None if m == e else torch.randperm(e)[:m]

    def _bootstrap(self, batch: Batch) -> Tensor:
        """y = r + gamma (1 - term) (min_{e in M} Q'_e(s', a') + bonus); truncation bootstraps."""
        next_action, bonus = self._next_action(batch.next_obs)
        q_next = self.critic_target(batch.next_obs, next_action, self._target_members())
        q_next = q_next.min(0).values
        if bonus is not None:
            q_next = q_next + bonus
        return batch.rewards + self.gamma * (1.0 - batch.terminated) * q_next

    def td_target_with_metrics(self, batch: Batch) -> tuple[Tensor, Metrics]:
        """The TD target after every target hook, and the hooks' metrics (no gradient)."""
        metrics: Metrics = {}
        with torch.no_grad():
            y = self._bootstrap(batch)
            for hook in self.target_hooks:
                y, info = hook(self, batch, y)
                metrics |= info
        return y, metrics

    def td_target(self, batch: Batch) -> Tensor:
        """The TD target y [N] (see `_bootstrap`), target hooks applied."""
        return self.td_target_with_metrics(batch)[0]

    def critic_loss_with_metrics(self, batch: Batch) -> tuple[Tensor, Tensor, Metrics]:
        """(sum over critics of the mean squared TD error + regularisers, Q [E, N], metrics)."""
        y, metrics = self.td_target_with_metrics(batch)
        q = self.critic(batch.obs, batch.actions)
        loss = (q - y).pow(2).mean(1).sum()
        for regulariser in self.critic_regularisers:
            term, info = regulariser(self, batch)
            loss = loss + term
            metrics |= info
        return loss, q, metrics

    def critic_loss(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(critic loss, Q [E, N]); see `critic_loss_with_metrics`."""
        loss, q, _ = self.critic_loss_with_metrics(batch)
        return loss, q

    def actor_direction(self, batch: Batch, actions: Tensor) -> tuple[Tensor, Tensor, Metrics]:
        """(g, Q, metrics): g(s, a) = -dQ/da at a = pi(s) rewritten by every hook [N, da];
        Q(s, a) [N]; the hooks' metrics."""
        q = self._actor_q_of(batch.obs, actions)
        (dq_da,) = torch.autograd.grad(q.sum(), actions)
        g = -dq_da
        q = q.detach()
        metrics: Metrics = {}
        for hook in self.actor_directions:
            g, info = hook(self, batch, actions.detach(), q, g)
            metrics |= info
        return g, q, metrics

    @staticmethod
    def surrogate(actions: Tensor, direction: Tensor) -> Tensor:
        """mean_s <a, stop_grad(g)>: its gradient w.r.t. a is g / N."""
        return (actions * direction.detach()).sum(-1).mean()

    def update(self, batch: Batch, update_actor: bool = True) -> dict[str, float]:
        """One critic step; an actor (and target) step every `policy_delay` critic steps."""
        loss, q, metrics = self.critic_loss_with_metrics(batch)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_opt.step()
        self.critic_updates += 1
        metrics |= {"critic_loss": loss.detach(), "q_mean": q.detach().mean()}
        actor_due = self.critic_updates % self.policy_delay == 0
        if actor_due and update_actor:
            metrics |= self._actor_update(batch)
        if actor_due or not self.targets_follow_actor:
            self._update_targets()
        return {k: float(v) for k, v in metrics.items()}

    def _actor_update(self, batch: Batch) -> Metrics:
        actor_loss, actor_metrics = self._actor_loss(batch)
        return actor_metrics | self.actor_step(actor_loss) | self._after_actor_step()

    def update_actor(self, batch: Batch) -> dict[str, float]:
        """One actor (and temperature) step on `batch` alone, with the target update that
        follows it for TD3: the actor step of `actor_batch = "union"`, after `utd` critic-only
        updates (WSRL's update_high_utd)."""
        metrics = self._actor_update(batch)
        if self.targets_follow_actor:
            self._update_targets()
        return {k: float(v) for k, v in metrics.items()}

    def actor_step(self, loss: Tensor) -> Metrics:
        """Back-propagate the actor loss, run the actor-step hooks, take one Adam step."""
        self.actor_opt.zero_grad(set_to_none=True)
        loss.backward()
        metrics: Metrics = {}
        for hook in self.actor_step_hooks:
            metrics |= hook(self)
        self.actor_opt.step()
        self.actor_updates += 1
        return metrics

    def _update_targets(self) -> None:
        soft_update(self.critic_target, self.critic, self.tau)

    # ------------------------------------------------------------------ persistence

    def modules(self) -> dict[str, nn.Module]:
        return {"actor": self.actor, "critic": self.critic, "critic_target": self.critic_target}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"actor_opt": self.actor_opt, "critic_opt": self.critic_opt}

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {k: m.state_dict() for k, m in self.modules().items()}
        state |= {k: o.state_dict() for k, o in self.optimizers().items()}
        state["counters"] = {
            "critic_updates": self.critic_updates,
            "actor_updates": self.actor_updates,
        }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, module in self.modules().items():
            load_module(module, state[key], key)
        for key, opt in self.optimizers().items():
            opt.load_state_dict(state[key])
        self.critic_updates = int(state["counters"]["critic_updates"])
        self.actor_updates = int(state["counters"]["actor_updates"])

    # ------------------------------------------------------------------ observation statistics

    def set_obs_stats(self, mean: Tensor, std: Tensor) -> None:
        """Standardise every network's observation input by (mean, std) (TD3+BC's)."""
        for network in self.modules().values():
            for m in network.modules():
                if isinstance(m, ObsNorm):
                    m.set(mean.to(self.device), std.to(self.device))

    def obs_stats(self) -> tuple[Tensor, Tensor]:
        """The (mean, std) every network standardises its observations by."""
        norm = self.critic.obs_norm
        return norm.mean.clone(), norm.std.clone()

    # ------------------------------------------------------------------ warm start

    def warm_start(
        self, source: ActorCritic, parts: Iterable[str], optimizers: bool = False
    ) -> list[str]:
        """Copy the named parts ("actor", "critic") of a pretrained agent; return what was loaded.

        "actor" copies the policy network (and its target, for TD3/DDPG; the temperature, for
        SAC from SAC); "critic" copies the critic ensemble and its target. With `optimizers`, the
        Adam states of the copied networks come along too (WSRL keeps them), under this
        agent's own learning rates. The source's observation statistics always come along
        (into every network, a fresh critic's included): they define the agent's input space;
        "obs_stats" is listed when they are not the identity.
        """
        mean, std = source.obs_stats()
        self.set_obs_stats(mean, std)
        loaded: list[str] = []
        for part in parts:
            if part == "actor":
                loaded += self._copy_actor(source, optimizers)
            elif part == "critic":
                load_module(self.critic, source.critic.state_dict(), "critic")
                load_module(self.critic_target, source.critic_target.state_dict(), "critic")
                loaded += ["critic", "critic_target"]
                if optimizers:
                    adopt_optimizer_state(self.critic_opt, source.critic_opt)
                    loaded.append("critic_opt")
        if not (torch.all(mean == 0) and torch.all(std == 1)):
            loaded.append("obs_stats")
        return loaded

    def _copy_actor(self, source: ActorCritic, optimizers: bool) -> list[str]:
        if type(source.actor) is not type(self.actor):
            raise WsdiagError(
                f"cannot warm-start a {self.algo} actor from a {source.algo} actor "
                f"({type(source.actor).__name__} vs {type(self.actor).__name__})"
            )
        load_module(self.actor, source.actor.state_dict(), "actor")
        loaded = ["actor"]
        if optimizers:
            adopt_optimizer_state(self.actor_opt, source.actor_opt)
            loaded.append("actor_opt")
        return loaded


OBS_NORM_KEYS = ("obs_norm.mean", "obs_norm.std")


def load_module(module: nn.Module, state: dict[str, Tensor], name: str) -> None:
    """load_state_dict with a one-line error naming the mismatching shapes. A state saved before
    networks held observation statistics loads with the identity statistics."""
    own = module.state_dict()
    older = {k: v for k, v in own.items() if k.endswith(OBS_NORM_KEYS) and k not in state}
    state = {**older, **state}
    if set(own) != set(state):
        raise WsdiagError(
            f"{name}: incompatible architectures (layers {sorted(set(own) ^ set(state))[:4]} "
            "differ); check hidden, ensemble and layer_norm"
        )
    for key, value in state.items():
        if own[key].shape != value.shape:
            raise WsdiagError(
                f"{name}: incompatible shapes for {key}: saved {tuple(value.shape)}, "
                f"expected {tuple(own[key].shape)}; check hidden, ensemble and the env"
            )
    module.load_state_dict(state)
