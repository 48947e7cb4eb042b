"""Drift of the fine-tuned agent from the pretrained one (Zhou et al., WSRL, Fig. 8, 21, 22).

Policy drift, per state:  KL(pi_pre(.|s) || pi(.|s)) for diagonal Gaussians (pre-squash for SAC;
a deterministic actor is the Gaussian N(pi(s), sigma_expl^2) of its exploration noise), and the
action distance ||pi_pre(s) - pi(s)||^2 of the deterministic actions.
Q drift, per state:  KL(softmax_j Q_pre(s, a_j) || softmax_j Q(s, a_j)) over K actions a_j drawn
half from pi_pre(.|s) and half from pi(.|s) (squashed with tanh for SAC, clipped for TD3/DDPG).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Normal

from wsdiag.probes.common import QFn, q_many


def gaussian_kl(mu_p: Tensor, std_p: Tensor, mu_q: Tensor, std_q: Tensor) -> np.ndarray:
    """KL(N(mu_p, diag std_p^2) || N(mu_q, diag std_q^2)) per row [N]:
    sum_i log(std_q/std_p) + (std_p^2 + (mu_p - mu_q)^2) / (2 std_q^2) - 1/2."""
    mu_p, std_p, mu_q, std_q = (
        torch.as_tensor(x, dtype=torch.float64) for x in (mu_p, std_p, mu_q, std_q)
    )
    kl = torch.log(std_q / std_p) + (std_p**2 + (mu_p - mu_q) ** 2) / (2 * std_q**2) - 0.5
    return kl.sum(-1).numpy()


def _sample(dist: Normal, n: int, squash: bool, generator: torch.Generator | None) -> Tensor:
    """n actions per state from a pre-squash Gaussian: [N, n, da]."""
    mean, std = dist.loc, dist.scale
    noise = torch.randn(mean.shape[0], n, mean.shape[1], generator=generator).to(mean)
    u = mean[:, None, :] + std[:, None, :] * noise
    return torch.tanh(u) if squash else u.clamp(-1.0, 1.0)


def q_softmax_kl(
    q_pre: QFn,
    q: QFn,
    states: Tensor,
    dist_pre: Normal,
    dist: Normal,
    *,
    n_actions: int = 20,
    squash: bool = False,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """KL(softmax Q_pre(s, .) || softmax Q(s, .)) over an equal mix of pi_pre and pi actions [N]."""
    half = max(n_actions // 2, 1)
    actions = torch.cat(
        [_sample(dist_pre, half, squash, generator), _sample(dist, half, squash, generator)], dim=1
    )
    log_p = torch.log_softmax(q_many(q_pre, states, actions).double(), dim=1)
    log_q = torch.log_softmax(q_many(q, states, actions).double(), dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(1).numpy()


def policy_drift(
    dist_pre: Normal,
    dist: Normal,
    actions_pre: Tensor,
    actions: Tensor,
) -> dict[str, np.ndarray]:
    """Per state: `kl` KL(pi_pre || pi), `action_mse` ||pi_pre(s) - pi(s)||^2 and `action_rms`
    ||pi_pre(s) - pi(s)||_2 / sqrt(da), the change per action dimension in half-ranges (the same
    scale for TD3, SAC and IQL policies, whatever their noise)."""
    with torch.no_grad():
        kl = gaussian_kl(dist_pre.loc, dist_pre.scale, dist.loc, dist.scale)
        mse = (actions_pre - actions).pow(2).sum(-1).cpu().numpy()
    return {"kl": kl, "action_mse": mse, "action_rms": np.sqrt(mse / actions.shape[-1])}
