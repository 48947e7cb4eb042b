"""Actor gradient clipping (Wexler, Sarafian & Kraus, section II-D).

After the actor loss (SAC's entropy term included) is back-propagated and before the actor's
Adam step, the gradient of the actor's parameters is rescaled to norm `max_norm` if it is
larger, g <- max_norm g / ||g|| (`torch.nn.utils.clip_grad_norm_`, as in the authors' code).
Records `mitigation/actor_grad_norm` (before clipping) and `mitigation/clipped` (the fraction of
actor steps that were clipped).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.core import Callback
from wsdiag.mitigations.base import Mitigation, MitigationContext, need


@dataclass(frozen=True)
class Params:
    """[mitigation.grad_clip]"""

    max_norm: float = 1.0  # clip the actor's parameter-gradient norm to this threshold


def check(p: Params) -> None:
    need(p.max_norm > 0, f"mitigation.grad_clip.max_norm must be > 0, got {p.max_norm}")


def clip_hook(max_norm: float):
    """The actor-step hook: clip every parameter the actor's optimiser steps."""

    def hook(agent: ActorCritic) -> Metrics:
        params = [p for group in agent.actor_opt.param_groups for p in group["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        return {
            "mitigation/actor_grad_norm": norm.detach(),
            "mitigation/clipped": (norm > max_norm).float(),
        }

    return hook


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    ctx.agent.actor_step_hooks.append(clip_hook(p.max_norm))
    return []


MITIGATION = Mitigation("grad_clip", Params, install, check)
