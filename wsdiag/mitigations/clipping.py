"""Actor gradient clipping and actor learning-rate scaling (Wexler, Sarafian & Kraus, II-D).

grad_clip: before every actor optimiser step, the gradient of the actor's parameters (the whole
actor loss, SAC's entropy term included) is rescaled to norm `max_norm` if it is larger,
g <- max_norm g / ||g|| (`torch.nn.utils.clip_grad_norm_`, as in the authors' code). Records
`mitigation/actor_grad_norm` (before clipping) and `mitigation/clipped` (fraction of steps).

lr_scale: the actor's Adam learning rate becomes `scale * finetune.actor_lr` (set, not multiplied,
so that applying it again on resume is harmless). Records `mitigation/actor_lr`.
"""

from __future__ import annotations

import torch

from wsdiag.mitigations.bc_penalty import HookStats
from wsdiag.mitigations.registry import MitigationContext, register
from wsdiag.training.callbacks import Callback


def install_grad_clip(optimizer: torch.optim.Optimizer, max_norm: float, stats: dict) -> None:
    """Clip the gradient norm of every parameter of `optimizer` before each of its steps."""
    if max_norm <= 0:
        raise ValueError(f"mitigation.grad_clip.max_norm must be > 0, got {max_norm}")
    params = [p for group in optimizer.param_groups for p in group["params"]]

    def pre_step(opt: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        stats["actor_grad_norm"] = norm.detach()
        stats["clipped"] = (norm > max_norm).float()

    optimizer.register_step_pre_hook(pre_step)


@register("grad_clip")
def build_grad_clip(ctx: MitigationContext) -> list[Callback]:
    stats = HookStats(ctx.config.log.train_every)
    install_grad_clip(ctx.agent.actor_opt, ctx.config.mitigation.grad_clip.max_norm, stats.stats)
    return [stats]


@register("lr_scale")
def build_lr_scale(ctx: MitigationContext) -> list[Callback]:
    scale = ctx.config.mitigation.lr_scale.scale
    if scale <= 0:
        raise ValueError(f"mitigation.lr_scale.scale must be > 0, got {scale}")
    lr = scale * ctx.agent.cfg.actor_lr
    for group in ctx.agent.actor_opt.param_groups:
        group["lr"] = lr
    return [HookStats(ctx.config.log.train_every, {"actor_lr": lr})]
