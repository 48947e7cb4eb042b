"""Actor gradient clipping (Wexler, Sarafian & Kraus, section II-D).

After the actor loss (SAC's entropy term included) is back-propagated and before the actor's
Adam step, the gradient of the actor's parameters is rescaled to norm `max_norm` if it is
larger, g <- max_norm g / ||g|| (`torch.nn.utils.clip_grad_norm_`, as in the authors' code).
Records `mitigation/actor_grad_norm` (before clipping) and `mitigation/clipped` (the fraction of
actor steps that were clipped).

Under Adam the threshold acts only near Adam's eps: the step is lr m / (sqrt(v) + eps), which does
not change when every gradient is scaled by c unless the per-coordinate gradient c|g_i| comes
down to eps = 1e-8. A threshold T spread over P parameters gives about T / sqrt(P) per coordinate
(3e-6 / sqrt(67,000) ~ 1e-8 for the default 256-256 actor of a 3-D state), so T = 1 clips often
and changes nothing, while the authors' thresholds 3e-9 .. 3e-3 (scripts/Gradient-Clipping)
shrink the step through eps. The default is 3e-6, from that range: it cuts the first Adam step of
the default TD3 actor about 3x (tests/mitigations/test_mitigations_policy.py).
"""

from __future__ import annotations

import torch

from wsdiag.agents import ActorCritic
from wsdiag.agents.base import Metrics
from wsdiag.config.mitigations.grad_clip import TABLE, Params
from wsdiag.core import Callback
from wsdiag.mitigations.base import Mitigation, MitigationContext


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


MITIGATION = Mitigation(TABLE, install)
