"""Q-percentile of the behavioural action among perturbed actions (Wexler, Sarafian & Kraus, eq. 8).

For a state s with reference action a, draw K perturbed actions a_k and count how many the
critic values below a:

    P(s) = (1/K) sum_k ( 1[Q(s, a_k) < Q(s, a)] + 1/2 1[Q(s, a_k) = Q(s, a)] ).

A critic that knows nothing about actions gives P ~ 0.5 (a flat one exactly 0.5: ties count one
half); one whose behavioural action is a local maximum gives P -> 1. With h the action half-range
and sigma the relative width, the "local" draws are, per coordinate j:

    bounds = "truncate" (default):
        a_kj ~ U[max(low_j, a_j - sigma h_j), min(high_j, a_j + sigma h_j)],
        the neighbourhood truncated to the box: the actions a policy can actually take. Unbiased
        at the bounds, where saturating experts (bang-bang Pendulum, HalfCheetah) live.
    bounds = "unclipped" (the authors' TD3CCL_PQD.py): a_kj = a_j + eps, eps ~ U(-sigma h_j,
        sigma h_j), evaluated off the box as they are; the form the paper's percentiles
        (66-95% pretrained, 46-52% fresh) come from.
    bounds = "clip" (older wsdiag runs): a_kj = clip(a_j + eps, low_j, high_j) with a strict
        `<` (ties not counted). About half the draws of a coordinate on a bound land exactly on
        it and tie, so P <= ~0.5 there whatever the critic: kept only to compare with old runs.

"uniform" mode draws a_k ~ U(low, high) over the whole box (the paper's "random actions").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from wsdiag.config import PERTURB_BOUNDS
from wsdiag.probes.common import QFn, q_many

MODES = ("local", "uniform")
BOUNDS = PERTURB_BOUNDS  # the forms `probes.bounds` may name


def _draws(actions: Tensor, n_perturb: int, generator: torch.Generator | None) -> Tensor:
    """The uniform draws u [N, K, da] in [0, 1) that every perturbation form maps to actions."""
    n, da = actions.shape
    u = torch.rand(n, n_perturb, da, generator=generator, dtype=actions.dtype)
    return u.to(actions.device)


def _check(mode: str, bounds: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if bounds not in BOUNDS:
        raise ValueError(f"bounds must be one of {BOUNDS}, got {bounds!r}")


def _map_draws(
    u: Tensor,
    actions: Tensor,
    *,
    sigma: float,
    low: float | Tensor,
    high: float | Tensor,
    mode: str,
    bounds: str,
) -> Tensor:
    """Perturbed actions [N, K, da] from the draws u and the reference actions [N, da]."""
    low_t = torch.as_tensor(low, dtype=actions.dtype, device=actions.device)
    high_t = torch.as_tensor(high, dtype=actions.dtype, device=actions.device)
    if mode == "uniform":
        return low_t + u * (high_t - low_t)
    width = sigma * (high_t - low_t) / 2
    a = actions[:, None, :]
    if bounds == "truncate":
        lo = torch.maximum(a - width, low_t)
        hi = torch.minimum(a + width, high_t)
        return lo + u * (hi - lo)
    perturbed = a + (2 * u - 1) * width
    if bounds == "unclipped":
        return perturbed
    return torch.maximum(torch.minimum(perturbed, high_t), low_t)


def perturb_actions(
    actions: Tensor,
    n_perturb: int,
    *,
    sigma: float = 1.0,
    low: float | Tensor = -1.0,
    high: float | Tensor = 1.0,
    mode: str = "local",
    bounds: str = "truncate",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Perturbed actions [N, K, da] around actions [N, da] (see module docstring)."""
    _check(mode, bounds)
    u = _draws(actions, n_perturb, generator)
    return _map_draws(u, actions, sigma=sigma, low=low, high=high, mode=mode, bounds=bounds)


def fraction_below(q: Tensor, q_ref: Tensor, bounds: str = "truncate") -> np.ndarray:
    """P per state from Q of the perturbed actions [N, K] and of the reference [N]: ties count
    one half (strict `<` for the legacy `clip` form)."""
    below = (q < q_ref[:, None]).float()
    if bounds != "clip":
        below = below + 0.5 * (q == q_ref[:, None]).float()
    return below.mean(1).cpu().numpy()


def _perturbed_and_q(
    q_fn: QFn, states: Tensor, actions: Tensor, n_perturb: int, **kwargs: object
) -> tuple[Tensor, Tensor, Tensor]:
    perturbed = perturb_actions(actions, n_perturb, **kwargs)  # type: ignore[arg-type]
    q = q_many(q_fn, states, perturbed)
    with torch.no_grad():
        q_ref = q_fn(states, actions)
    return perturbed, q, q_ref


def q_percentiles(
    q_fn: QFn,
    states: Tensor,
    actions: Tensor,
    forms: Sequence[tuple[str, str]],
    *,
    n_perturb: int = 500,
    sigma: float = 1.0,
    low: float | Tensor = -1.0,
    high: float | Tensor = 1.0,
    generator: torch.Generator | None = None,
) -> list[np.ndarray]:
    """P(s) [N] for each (mode, bounds) form, all from one set of draws u.

    Each form maps the same u to its own actions: the result for a form is what `q_percentile`
    gives with a generator in the same state. The distinct perturbed actions of all forms go
    through the critic in one pass (forms that map u alike, such as "uniform" under any bounds,
    are evaluated once), and Q(s, a) of the reference actions once.
    """
    for mode, bounds in forms:
        _check(mode, bounds)
    u = _draws(actions, n_perturb, generator)
    distinct = list(dict.fromkeys(_mapping(*form) for form in forms))
    perturbed = [
        _map_draws(u, actions, sigma=sigma, low=low, high=high, mode=m, bounds=b)
        for m, b in distinct
    ]
    q = q_many(q_fn, states, torch.cat(perturbed, dim=1)).split(n_perturb, dim=1)
    with torch.no_grad():
        q_ref = q_fn(states, actions)
    return [fraction_below(q[distinct.index(_mapping(*form))], q_ref, form[1]) for form in forms]


def _mapping(mode: str, bounds: str) -> tuple[str, str]:
    """What decides a form's actions: its bounds count in local mode only."""
    return (mode, bounds if mode == "local" else "truncate")


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
    bounds: str = "truncate",
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """P(s) for each state: the fraction of perturbed actions the critic values below a [N]."""
    (p,) = q_percentiles(
        q_fn,
        states,
        actions,
        [(mode, bounds)],
        n_perturb=n_perturb,
        sigma=sigma,
        low=low,
        high=high,
        generator=generator,
    )
    return p


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
    bounds: str = "truncate",
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
        bounds=bounds,
        generator=generator,
    )
    return {
        "states": states.cpu().numpy(),
        "actions": actions.cpu().numpy(),
        "perturbed": perturbed.cpu().numpy(),
        "q": q.cpu().numpy(),
        "q_ref": q_ref.cpu().numpy(),
        "percentile": fraction_below(q, q_ref, bounds),
    }
