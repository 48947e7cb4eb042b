"""Frozen-critic views (Wexler et al., Fig. 5; TD3BC++ Fig. 6): Q on chosen state/action sets.

`frozen_critic_eval`: a critic frozen when policy updates begin, evaluated on the four
combinations of behavioural states s_beta / states visited by the updated policy s_U and the
behavioural policy pi_beta / the updated policy pi_U. The updated policy's actions on its own
states are valued above what the critic ever saw: the sign of extrapolation error.
`q_by_label`: Q of dataset actions per label and of uniformly random actions, for histograms.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wsdiag.probes.common import PolicyFn, QFn


def frozen_critic_eval(
    q_fn: QFn,
    policy_beta: PolicyFn,
    policy_u: PolicyFn,
    states_beta: Tensor,
    states_u: Tensor,
) -> dict[str, np.ndarray]:
    """Q(s_beta, pi_beta), Q(s_beta, pi_U), Q(s_U, pi_beta), Q(s_U, pi_U) as arrays."""
    with torch.no_grad():
        return {
            "sbeta_pibeta": q_fn(states_beta, policy_beta(states_beta)).cpu().numpy(),
            "sbeta_piu": q_fn(states_beta, policy_u(states_beta)).cpu().numpy(),
            "su_pibeta": q_fn(states_u, policy_beta(states_u)).cpu().numpy(),
            "su_piu": q_fn(states_u, policy_u(states_u)).cpu().numpy(),
        }


def q_by_label(
    q_fn: QFn,
    states: Tensor,
    actions: Tensor,
    labels: np.ndarray,
    *,
    low: float = -1.0,
    high: float = 1.0,
    generator: torch.Generator | None = None,
) -> dict[str, np.ndarray]:
    """{label: Q(s, a) of the dataset actions with that label, "random": Q(s, a ~ U(low, high))}."""
    labels = np.asarray(labels)
    random_actions = low + (high - low) * torch.rand(actions.shape, generator=generator)
    with torch.no_grad():
        q_data = q_fn(states, actions).cpu().numpy()
        q_random = q_fn(states, random_actions.to(actions)).cpu().numpy()
    out = {str(lab): q_data[labels == lab] for lab in np.unique(labels)}
    out["random"] = q_random
    return out
