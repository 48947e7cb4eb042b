"""Actor learning-rate scaling (Wexler, Sarafian & Kraus, section II-D).

The actor's Adam learning rate becomes `scale * finetune.actor_lr` (set, not multiplied, so that
installing it again on resume is harmless). Records `mitigation/actor_lr` once.
"""

from __future__ import annotations

from wsdiag.config.mitigations.lr_scale import TABLE, Params
from wsdiag.core import Callback
from wsdiag.mitigations.base import LogConstants, Mitigation, MitigationContext


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    lr = p.scale * ctx.agent.cfg.actor_lr
    for group in ctx.agent.actor_opt.param_groups:
        group["lr"] = lr
    return [LogConstants({"actor_lr": lr})]


MITIGATION = Mitigation(TABLE, install)
