"""Q-percentile of the behavioural action among perturbed actions (Wexler, Sarafian & Kraus, eq. 8).

For a state s with reference action a, draw K perturbations a_k = clip(a + eps_k, low, high),
eps_k ~ U(-sigma h, sigma h)^da with h the action half-range ("local" mode), or a_k ~ U(low, high)
over the whole box ("uniform" mode, their "random actions"). Then

    P(s) = (1/K) sum_k 1[ Q(s, a_k) < Q(s, a) ].

A critic that knows nothing about actions gives P ~ 0.5; one whose behavioural action is a local
maximum gives P -> 1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wsdiag.probes.common import QFn, q_many

MODES = ("local", "uniform")


def perturb_actions(
    actions: Tensor,
    n_perturb: int,
    *,
    sigma: float = 1.0,
    low: float | Tensor = -1.0,
    high: float | Tensor = 1.0,
    mode: str = "local",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Perturbed actions [N, K, da] around actions [N, da] (see module docstring)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    n, da = actions.shape
    low_t = torch.as_tensor(low, dtype=actions.dtype, device=actions.device)
    high_t = torch.as_tensor(high, dtype=actions.dtype, device=actions.device)
    u = torch.rand(n, n_perturb, da, generator=generator, dtype=actions.dtype)
    u = u.to(actions.device)
    if mode == "uniform":
        return low_t + u * (high_t - low_t)
    half = (high_t - low_t) / 2
    eps = (2 * u - 1) * sigma * half
    return torch.maximum(torch.minimum(actions[:, None, :] + eps, high_t), low_t)


def _perturbed_and_q(
    q_fn: QFn, states: Tensor, actions: Tensor, n_perturb: int, **kwargs: object
) -> tuple[Tensor, Tensor, Tensor]:
    perturbed = perturb_actions(actions, n_perturb, **kwargs)  # type: ignore[arg-type]
    q = q_many(q_fn, states, perturbed)
    with torch.no_grad():
        q_ref = q_fn(states, actions)
    return perturbed, q, q_ref


def q_percentile(
    q_fn: QFn,
    states: Tensor,
    actions: Tensor,
    *,
    n_perturb: int = 500,
    sigma: float = 1.0,
    low: float | Tensor = -1.0,
    high: float | Tensor = 1.0,
    mode: str = "local",
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """P(s) for each state: the fraction of perturbed actions the critic values below a [N]."""
    _, q, q_ref = _perturbed_and_q(
        q_fn,
        states,
        actions,
        n_perturb,
        sigma=sigma,
        low=low,
        high=high,
        mode=mode,
        generator=generator,
    )
    return (q < q_ref[:, None]).float().mean(1).cpu().numpy()


def perturbed_q(
    q_fn: QFn,
    states: Tensor,
    actions: Tensor,
    *,
    n_perturb: int = 500,
    sigma: float = 1.0,
    low: float | Tensor = -1.0,
    high: float | Tensor = 1.0,
    mode: str = "local",
    generator: torch.Generator | None = None,
) -> dict[str, np.ndarray]:
    """The raw material of the Q-landscape and percentile-histogram figures, for a few states.

    Returns states [n, ds], actions (reference) [n, da], perturbed [n, K, da], q [n, K],
    q_ref [n] and percentile [n].
    """
    perturbed, q, q_ref = _perturbed_and_q(
        q_fn,
        states,
        actions,
        n_perturb,
        sigma=sigma,
        low=low,
        high=high,
        mode=mode,
        generator=generator,
    )
    return {
        "states": states.cpu().numpy(),
        "actions": actions.cpu().numpy(),
        "perturbed": perturbed.cpu().numpy(),
        "q": q.cpu().numpy(),
        "q_ref": q_ref.cpu().numpy(),
        "percentile": (q < q_ref[:, None]).float().mean(1).cpu().numpy(),
    }
