"""Divergence of the policy from dataset actions, split by label (TD3BC++ paper, Fig. 4/10).

    D_label = percentile_q { ||pi(s_i) - a_i||^2 : label_i = label },  q = 75 by default.

On mixed-quality data the policy drifts away from non-expert actions first.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wsdiag.probes.common import PolicyFn


def action_divergence(
    policy: PolicyFn, states: Tensor, actions: Tensor, labels: np.ndarray, q: float = 75
) -> dict[str, float]:
    """{label: q-th percentile of ||pi(s) - a||^2 over the transitions with that label}."""
    with torch.no_grad():
        dist = (policy(states) - actions).pow(2).sum(-1).cpu().numpy()
    labels = np.asarray(labels)
    return {str(lab): float(np.percentile(dist[labels == lab], q)) for lab in np.unique(labels)}
