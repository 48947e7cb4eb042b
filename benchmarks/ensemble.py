"""Batched critic ensemble versus a Python loop over separate critics.

One critic update step = forward, loss, backward and Adam step, on one batch of 256 (obs, action)
pairs with a fixed regression target y: loss = sum_e mean_n (Q_e(s_n, a_n) - y_n)^2. The batched
side is wsdiag's `EnsembleCritic` (one batched matmul per layer); the loop side is E separate
`nn.Sequential` MLPs of the same sizes evaluated one after the other. Both use one fused Adam
over all parameters, so the only difference is how the E networks are evaluated.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from benchmarks.common import BATCH, ENV_DIMS, HIDDEN, LR, per_call_seconds, set_threads
from wsdiag.agents.base import adam
from wsdiag.agents.networks import EnsembleCritic, mlp


class LoopCritics(nn.Module):
    """E independent critics, evaluated by a Python loop: forward -> [E, N]."""

    def __init__(self, obs_dim: int, act_dim: int, ensemble: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        sizes = [obs_dim + act_dim, *hidden, 1]
        self.critics = nn.ModuleList(mlp(sizes) for _ in range(ensemble))

    def forward(self, obs: Tensor, act: Tensor) -> Tensor:
        x = torch.cat([obs, act], dim=-1)
        return torch.stack([critic(x).squeeze(-1) for critic in self.critics])


def _step_fn(critic: nn.Module, obs: Tensor, act: Tensor, y: Tensor) -> Callable[[], None]:
    """A closure doing one critic update step (forward, loss, backward, Adam)."""
    opt = adam(critic, LR)

    def step() -> None:
        q = critic(obs, act)
        loss = (q - y).pow(2).mean(1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def critic_step_seconds(
    kind: str, ensemble: int, obs_dim: int, act_dim: int, iters: int, seed: int = 0
) -> float:
    """Median wall time of one update step of `ensemble` critics, `kind` = batched | loop."""
    torch.manual_seed(seed)
    obs, act = torch.randn(BATCH, obs_dim), torch.rand(BATCH, act_dim) * 2 - 1
    y = torch.randn(BATCH)
    if kind == "batched":
        critic: nn.Module = EnsembleCritic(obs_dim, act_dim, ensemble, HIDDEN)
    else:
        critic = LoopCritics(obs_dim, act_dim, ensemble, HIDDEN)
    return per_call_seconds(_step_fn(critic, obs, act, y), iters, repeats=3, warmup=20)


def run(
    iters: int = 100, threads: int = 2, env_id: str = "HalfCheetah-v5", ensemble: int = 10
) -> dict[str, object]:
    """Batched-vs-loop speed-up at E=`ensemble` and per-critic cost of batched E vs E=2."""
    set_threads(threads)
    obs_dim, act_dim = ENV_DIMS[env_id]
    batched = critic_step_seconds("batched", ensemble, obs_dim, act_dim, iters)
    looped = critic_step_seconds("loop", ensemble, obs_dim, act_dim, iters)
    batched2 = critic_step_seconds("batched", 2, obs_dim, act_dim, iters)
    per_critic_e = batched / ensemble
    per_critic_2 = batched2 / 2
    return {
        "env_dims": env_id,
        "ensemble": ensemble,
        "threads": threads,
        "batched_ms": batched * 1e3,
        "loop_ms": looped * 1e3,
        "loop_over_batched": looped / batched,
        "batched_e2_ms": batched2 * 1e3,
        "per_critic_ms": per_critic_e * 1e3,
        "per_critic_e2_ms": per_critic_2 * 1e3,
        "per_critic_ratio": per_critic_e / per_critic_2,
    }
