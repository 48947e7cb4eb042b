"""What every probe takes: a critic as `q_fn(states [N, ds], actions [N, da]) -> [N]`, helpers
to build one from an agent, and batched evaluation of many actions per state."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from wsdiag import probe_keys as keys
from wsdiag.agents.networks import EnsembleCritic

QFn = Callable[[Tensor, Tensor], Tensor]
PolicyFn = Callable[[Tensor], Tensor]
CHUNK_ROWS = 16_384  # critic rows per forward pass when evaluating many actions per state
# Without gradients a critic ensemble sees at most this many rows x members at once: its
# [E, rows, 256] activations (4 MiB, in buffers that every slice reuses: EnsembleCritic.evaluate)
# then stay in cache; 2-5x faster than 16,384 rows of two critics (docs/performance.md, Probes).
MEMBER_ROWS = 4_096
CRITIC_REDUCTIONS = ("mean", "min")


def critic_fn(agent: object, reduce: str = "mean", target: bool = False) -> QFn:
    """q_fn of an agent's critic ensemble (or its target): the mean (or min) over its E critics."""
    if reduce not in CRITIC_REDUCTIONS:
        raise ValueError(f"reduce must be one of {CRITIC_REDUCTIONS}, got {reduce!r}")
    critic = agent.critic_target if target else agent.critic  # type: ignore[attr-defined]
    rows = max(MEMBER_ROWS // getattr(critic, "ensemble", 2), 1)  # 2: a user's callable

    def reduced(states: Tensor, actions: Tensor) -> Tensor:
        q = critic(states, actions)
        return q.mean(0) if reduce == "mean" else q.min(0).values

    def q_fn(states: Tensor, actions: Tensor) -> Tensor:
        if torch.is_grad_enabled() or len(states) <= rows:
            return reduced(states, actions)
        if isinstance(critic, EnsembleCritic):  # slices through reused buffers
            q = critic.evaluate(states, actions, rows)
            return q.mean(0) if reduce == "mean" else q.min(0).values
        pieces = zip(states.split(rows), actions.split(rows), strict=True)
        return torch.cat([reduced(s, a) for s, a in pieces])

    return q_fn


def q_many(q_fn: QFn, states: Tensor, actions: Tensor, chunk: int = CHUNK_ROWS) -> Tensor:
    """Q(s_i, a_ij) for states [N, ds] and actions [N, K, da] -> [N, K], in chunks, no gradient."""
    n, k, da = actions.shape
    flat_states = states[:, None, :].expand(n, k, states.shape[-1]).reshape(n * k, -1)
    flat_actions = actions.reshape(n * k, da)
    out = torch.empty(n * k, dtype=states.dtype, device=states.device)
    with torch.inference_mode():
        for i in range(0, n * k, chunk):
            out[i : i + chunk] = q_fn(flat_states[i : i + chunk], flat_actions[i : i + chunk])
    return out.reshape(n, k)


def summary(values: np.ndarray) -> dict[str, float]:
    """mean, median, p90 and max of a 1-D array (as TD3BC++ monitors ||dQ/da||)."""
    return {
        keys.MEAN: float(np.mean(values)),
        keys.MEDIAN: float(np.median(values)),
        keys.P90: float(np.percentile(values, 90)),
        keys.MAX: float(np.max(values)),
    }


def as_tensor(x: np.ndarray | Tensor, device: str | torch.device = "cpu") -> Tensor:
    return torch.as_tensor(x, dtype=torch.float32, device=device)
