"""TD error and Q level on a fixed set of transitions (Zhou et al., WSRL, Fig. 3 and 11).

    td(s, a) = | Q(s, a) - (r + gamma (1 - terminated) Q_target(s', pi(s'))) |

with pi the deterministic policy and Q, Q_target reduced over the ensemble the same way (mean by
default). Truncated transitions bootstrap like any other. Measured on the behavioural probe set
and on recent online transitions: a behavioural-set TD error that grows while the online one
stays flat is the "downward spiral".
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wsdiag.probes.common import PolicyFn, QFn


def td_errors(
    q_fn: QFn,
    q_target_fn: QFn,
    policy: PolicyFn,
    states: Tensor,
    actions: Tensor,
    rewards: Tensor,
    next_states: Tensor,
    terminated: Tensor,
    gamma: float,
) -> dict[str, np.ndarray]:
    """Per transition: `td_error` |Q - y| and `q` Q(s, a), both [N]."""
    with torch.no_grad():
        y = rewards + gamma * (1.0 - terminated) * q_target_fn(next_states, policy(next_states))
        q = q_fn(states, actions)
    return {"td_error": (q - y).abs().cpu().numpy(), "q": q.cpu().numpy()}
