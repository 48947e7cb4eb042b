"""Action-gradient norms of the critic and the policy-gradient norm (Wexler et al. II-D; TD3BC++).

    action_grad_norm(s, a) = || dQ(s, a)/da ||_2               per pair
    grad_cosine(s, a)      = cos(dQ_1(s, a)/da, dQ_2(s, a)/da)  per pair (0 where either is 0)
    pooled_grad_cosine     = sum_i g_i . h_i / sqrt(sum_i |g_i|^2 sum_i |h_i|^2),
                             g_i = dQ_1(s_i, a_i)/da, h_i = dQ_2(s_i, a_i)/da
    policy_grad_norm       = || d/dtheta mean_s Q(s, pi_theta(s)) ||_2   over all actor parameters

Better experts sit where the critic is steeper, so their updates are larger and the drop deeper.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from wsdiag.probes.common import PolicyFn, QFn


def action_grad(q_fn: QFn, states: Tensor, actions: Tensor) -> Tensor:
    """dQ/da at each (s, a) pair [N, da]."""
    a = actions.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(q_fn(states, a).sum(), a)
    return grad


def action_grads(q_fn: QFn, states: Tensor, actions: Sequence[Tensor]) -> list[Tensor]:
    """dQ/da at the pairs (states, actions[i]) for each action set [N, da], in one forward and
    one backward pass: [N, da] each."""
    n = len(states)
    grad = action_grad(q_fn, states.repeat(len(actions), 1), torch.cat(list(actions)))
    return list(grad.split(n))


def action_grad_norm(q_fn: QFn, states: Tensor, actions: Tensor) -> np.ndarray:
    """||dQ/da||_2 at each (s, a) pair [N]."""
    return action_grad(q_fn, states, actions).norm(dim=-1).cpu().numpy()


def gradient_cosines(g: Tensor, h: Tensor) -> tuple[np.ndarray, float]:
    """From two critics' action gradients g, h [N, da]: the per-pair cosine [N] (0 where either
    is 0) and the pooled cosine sum_i g_i . h_i / sqrt(sum_i |g_i|^2 sum_i |h_i|^2) (0 where
    either is all 0): each pair weighted by the size of its gradients. Near a critic's optimum
    dQ/da is close to 0 and its direction is noise (in one action dimension the per-pair cosine
    is only a sign, +-1), so the mean per-pair cosine can read low for a critic that agrees with
    the reference wherever it pushes the action at all; the pooled one does not."""
    pairs = torch.nn.functional.cosine_similarity(g, h, dim=-1, eps=1e-12).cpu().numpy()
    norm = float(g.norm() * h.norm())
    return pairs, (float((g * h).sum()) / norm if norm > 0 else 0.0)


def _two_gradients(
    q_fn: QFn, reference: QFn, states: Tensor, actions: Tensor
) -> tuple[Tensor, Tensor]:
    return action_grad(q_fn, states, actions), action_grad(reference, states, actions)


def grad_cosine(q_fn: QFn, reference: QFn, states: Tensor, actions: Tensor) -> np.ndarray:
    """Cosine between two critics' action gradients at each (s, a) pair [N]: does the new
    critic push the behavioural action the way the reference (pretrained) critic does?"""
    return gradient_cosines(*_two_gradients(q_fn, reference, states, actions))[0]


def pooled_grad_cosine(q_fn: QFn, reference: QFn, states: Tensor, actions: Tensor) -> float:
    """The cosine between the two critics' action gradients stacked over all pairs
    (`gradient_cosines`)."""
    return gradient_cosines(*_two_gradients(q_fn, reference, states, actions))[1]


def policy_grad_norm(q_fn: QFn, policy: PolicyFn, actor: nn.Module, states: Tensor) -> float:
    """||d mean_s Q(s, pi(s)) / d theta||_2 over the parameters of `actor` (no .grad touched)."""
    params = [p for p in actor.parameters() if p.requires_grad]
    with torch.enable_grad():
        objective = q_fn(states, policy(states)).mean()
        grads = torch.autograd.grad(objective, params, allow_unused=True)
    squares = [g.pow(2).sum() for g in grads if g is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0
