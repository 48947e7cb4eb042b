"""A user's actor and critic ensemble, seen as the agent that probes and evaluations take.

The user's networks work in the environment's own units: the actor maps observations [N, ds]
to actions [N, da] within the action box [low, high], the critic maps (observations, actions in
those units) to Q [E, N] (or [N] for a single critic). wsdiag's probes work in the action box
rescaled to [-1, 1] (docs/probes.md), so this adapter converts at its edges:

    a_env = low + (a + 1) (high - low) / 2        a = 2 (a_env - low) / (high - low) - 1

A probe's ||dQ/da|| is then the gradient in [-1, 1] units, as for wsdiag's own agents. The
policy is deterministic; its distribution (for the KL drift probes) is a Gaussian centred on it
with standard deviation `policy_std` (TD3's exploration noise, 0.1 in [-1, 1] units).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from wsdiag.errors import WsdiagError
from wsdiag.safe_files import first_line

ActorFn = Callable[[Tensor], Tensor]
CriticFn = Callable[[Tensor, Tensor], Tensor]
TRIAL_ROWS = 3  # rows of the shape checks made before anything is recorded


class _Critic(nn.Module):
    """The user's critic in [-1, 1] action units, always [E, N]."""

    def __init__(self, fn: CriticFn, to_env: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.fn, self.to_env = fn, to_env
        if isinstance(fn, nn.Module):
            self.module = fn  # registered, so that copies and .modules() see its parameters

    def forward(self, obs: Tensor, act: Tensor) -> Tensor:
        q = torch.as_tensor(self.fn(obs, self.to_env(act)))
        if q.dim() == 2 and q.shape[-1] == 1 and q.shape[0] == len(obs):
            q = q.T  # one critic written as [N, 1]
        return q.unsqueeze(0) if q.dim() == 1 else q


class _Actor(nn.Module):
    """The user's actor in [-1, 1] action units."""

    def __init__(self, fn: ActorFn, to_unit: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.fn, self.to_unit = fn, to_unit
        if isinstance(fn, nn.Module):
            self.module = fn

    def forward(self, obs: Tensor) -> Tensor:
        return self.to_unit(torch.as_tensor(self.fn(obs)))


class CallableAgent:
    """The agent interface of `wsdiag.probes.run_probes` and evaluation over user callables."""

    algo = "external"

    def __init__(
        self,
        actor: ActorFn,
        critic: CriticFn | None,
        *,
        low: np.ndarray,
        high: np.ndarray,
        gamma: float = 0.99,
        critic_target: CriticFn | None = None,
        policy_std: float = 0.1,
        device: str | torch.device | None = None,
    ) -> None:
        """`critic_target` defaults to `critic` (the TD-error probes then bootstrap from the
        online critic); `device` defaults to that of the actor's first parameter, else cpu."""
        self.device = torch.device(device or _device_of(actor))
        self.low = torch.as_tensor(low, dtype=torch.float32, device=self.device)
        self.half = torch.as_tensor((high - low) / 2, dtype=torch.float32, device=self.device)
        self.obs_dim, self.act_dim = 0, len(low)
        self.gamma, self.policy_std = float(gamma), float(policy_std)
        self.actor = _Actor(actor, self.to_unit)
        self.critic = _Critic(critic, self.to_env) if critic is not None else None
        target = critic_target if critic_target is not None else critic
        self.critic_target = _Critic(target, self.to_env) if target is not None else None

    def to_env(self, a: Tensor) -> Tensor:
        return self.low + (a + 1) * self.half

    def to_unit(self, a_env: Tensor) -> Tensor:
        return (a_env.to(self.device) - self.low) / self.half - 1

    def policy(self, obs: Tensor) -> Tensor:
        """pi(s) in [-1, 1]^da."""
        return self.actor(obs)

    def policy_dist(self, obs: Tensor) -> torch.distributions.Normal:
        """N(pi(s), policy_std^2 I): a deterministic actor seen as a Gaussian."""
        mean = self.policy(obs)
        return torch.distributions.Normal(mean, torch.full_like(mean, self.policy_std))

    @torch.no_grad()
    def act(self, obs: np.ndarray, explore: bool = False) -> np.ndarray:
        """The deterministic action in [-1, 1]^da for one observation (or a batch)."""
        o = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        single = o.dim() == 1
        a = self.policy(o.unsqueeze(0) if single else o).cpu().numpy()
        return a[0] if single else a

    def q_values(self, obs: Tensor, act: Tensor) -> Tensor:
        """Q_e(s, a) of every critic [E, N] (a in [-1, 1] units), no gradient."""
        if self.critic is None:
            raise WsdiagError("this agent has no critic")
        with torch.no_grad():
            return self.critic(obs, act)

    def modules(self) -> dict[str, nn.Module]:
        """The user's networks that are torch modules."""
        found = {"actor": self.actor, "critic": self.critic, "critic_target": self.critic_target}
        return {k: m for k, m in found.items() if m is not None and _has_parameters(m)}

    def check(self, obs: np.ndarray, name: str) -> None:
        """The networks answer a few observations of the env with the shapes it needs: the
        actor finite [N, da], the critic [E, N]; WsdiagError naming `<name>actor` or
        `<name>critic`."""
        o = torch.as_tensor(np.atleast_2d(obs)[:TRIAL_ROWS], dtype=torch.float32)
        o = o.to(self.device)
        self.obs_dim, n = int(o.shape[1]), len(o)
        with torch.no_grad():
            raw = torch.as_tensor(_call(self.actor.fn, f"{name}actor", o))
        if tuple(raw.shape) != (n, self.act_dim):
            raise WsdiagError(
                f"{name}actor: returned shape {tuple(raw.shape)} for {n} observations; the "
                f"environment needs ({n}, {self.act_dim})"
            )
        if not torch.isfinite(raw).all():
            raise WsdiagError(f"{name}actor: returned non-finite actions")
        if self.critic is None:
            return
        with torch.no_grad():
            q = _call(self.critic, f"{name}critic", o, self.to_unit(raw).clamp(-1, 1))
        if q.dim() != 2 or q.shape[1] != n:
            raise WsdiagError(
                f"{name}critic: returned shape {tuple(q.shape)} for {n} pairs; expected "
                f"(E, {n}) or ({n},)"
            )


def _call(fn: Callable[..., Any], name: str, *args: Tensor) -> Tensor:
    """fn(*args); an error of the user's code as a WsdiagError naming the argument."""
    try:
        return fn(*args)
    except Exception as exc:
        shapes = ", ".join(str(tuple(a.shape)) for a in args)
        raise WsdiagError(
            f"{name}: calling it on inputs of shape {shapes} failed: {type(exc).__name__}: "
            f"{first_line(exc)}"
        ) from exc


def _has_parameters(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _device_of(fn: Any) -> torch.device:
    if isinstance(fn, nn.Module):
        for p in fn.parameters():
            return p.device
    return torch.device("cpu")
