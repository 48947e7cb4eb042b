"""Actor learning-rate scaling (Wexler, Sarafian & Kraus, section II-D).

The actor's Adam learning rate becomes `scale * finetune.actor_lr` (set, not multiplied, so that
installing it again on resume is harmless). Records `mitigation/actor_lr` once.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.core import Callback
from wsdiag.mitigations.base import LogConstants, Mitigation, MitigationContext, need


@dataclass(frozen=True)
class Params:
    """[mitigation.lr_scale]"""

    scale: float = 0.1  # actor lr = scale * finetune.actor_lr


def check(p: Params) -> None:
    need(p.scale > 0, f"mitigation.lr_scale.scale must be > 0, got {p.scale}")


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    lr = p.scale * ctx.agent.cfg.actor_lr
    for group in ctx.agent.actor_opt.param_groups:
        group["lr"] = lr
    return [LogConstants({"actor_lr": lr})]


MITIGATION = Mitigation("lr_scale", Params, install, check)
