"""The behavioural action a_beta and the BC distance D shared by the BC family of mitigations.

D(a_beta, a) = c ||a - a_beta||^2 with c = 1 (`bc_reduce = "sum"`) or 1/dim(A) ("mean", the
authors' code); its gradient is `wsdiag.agents.bc.bc_gradient`. a_beta is the pretrained policy's
deterministic action at the batch states (`target = "pretrained"`) or the batch's stored action
("batch", as the authors' code does).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.agents.bc import bc_error, bc_gradient
from wsdiag.data.buffer import Batch

Target = Callable[[Batch], Tensor]


def behaviour_target(pretrained: ActorCritic, target: str) -> Target:
    """batch -> a_beta at the batch states: the pretrained policy's action, or the batch's."""

    def a_beta(batch: Batch) -> Tensor:
        if target == "batch":
            return batch.actions
        with torch.no_grad():
            return pretrained.policy(batch.obs)

    return a_beta


def distance_gradient(actions: Tensor, targets: Tensor, scale: float) -> tuple[Tensor, Metrics]:
    """grad_D = 2 c (a - a_beta) per state, and `mitigation/bc_distance` = mean D."""
    distance = bc_error(actions, targets, scale).mean()
    return bc_gradient(actions, targets, scale), {"mitigation/bc_distance": distance}
