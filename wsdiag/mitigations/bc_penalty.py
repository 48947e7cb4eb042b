"""BC policy penalty (Wexler, Sarafian & Kraus, eq. 6) and the helpers shared by the BC family.

With D(a_beta, a) = c ||a - a_beta||^2 (c = 1 for `bc_reduce = "sum"`, 1/dim(A) for "mean"),
its loss gradient is grad_D = 2 c (a - a_beta). In the action-space form of the agents
(g = -dQ/da arrives at the hook; descent moves a along -g):

    form = "eq6"    (paper, max Q - alpha D):           g <- g + alpha grad_D
    form = "convex" (authors' code, alpha Q - (1-alpha) D): g <- alpha g + (1 - alpha) grad_D

With `controller = "confidence"` alpha is CCL's confidence-controlled weight (read from
[mitigation.ccl_pqd]) in the convex form: CCL with the plain BC distance (the authors' CCL-BC).
a_beta is the pretrained policy's deterministic action at the batch states ("pretrained") or the
batch's stored action ("batch", as the authors' code does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import torch
from torch import Tensor

from wsdiag.agents.base import ActorCritic
from wsdiag.agents.bc import bc_scale
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.registry import MitigationContext, register
from wsdiag.training.callbacks import Callback, due

TARGETS = ("pretrained", "batch")
Target = Callable[[Batch, Tensor], Tensor]


def choice(value: str, options: tuple[str, ...], where: str) -> str:
    if value not in options:
        raise WsdiagError(f"{where} = '{value}' is not one of {', '.join(options)}")
    return value


def behaviour_target(ctx: MitigationContext, target: str, where: str) -> Target:
    """(batch, obs) -> a_beta: the pretrained policy's action at obs, or the batch's action."""
    choice(target, TARGETS, where)
    pretrained = ctx.pretrained

    def a_beta(batch: Batch, obs: Tensor) -> Tensor:
        if target == "batch":
            return batch.actions
        with torch.no_grad():
            return pretrained.policy(obs)

    return a_beta


def distance_scale(ctx: MitigationContext, reduce: str, where: str) -> float:
    """c in D = c ||a - a_beta||^2."""
    choice(reduce, ("sum", "mean"), where)
    return bc_scale(reduce, ctx.agent.act_dim)


class HookStats(Callback):
    """Averages the scalars a hook leaves in `stats` over `every` env steps as mitigation/<key>;
    logs `constants` once at the start (a fixed alpha, a learning rate)."""

    wants_updates = True

    def __init__(self, every: int, constants: dict[str, float] | None = None) -> None:
        self.every, self.constants = every, constants or {}
        self.stats: dict[str, Tensor] = {}
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def on_start(self, loop) -> None:
        if self.constants:
            rows = {f"mitigation/{k}": float(v) for k, v in self.constants.items()}
            loop.recorder.log(loop.step, loop.phase.name, rows)

    def on_update(self, loop, batch: Batch, metrics: dict[str, float]) -> None:
        for key, value in self.stats.items():
            self.sums[key] += float(value)
            self.counts[key] += 1
        self.stats.clear()

    def on_env_step(self, loop) -> None:
        if self.sums and due(loop, self.every):
            rows = {f"mitigation/{k}": v / self.counts[k] for k, v in self.sums.items()}
            loop.recorder.log(loop.step, loop.phase.name, rows)
            self.sums.clear()
            self.counts.clear()


def bc_direction(
    alpha: Callable[[], float], form: str, scale: float, a_beta: Target, stats: dict[str, Tensor]
):
    """The actor_directions hook of the BC penalty (see module docstring)."""

    def hook(agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor) -> Tensor:
        diff = actions - a_beta(batch, batch.obs)
        grad_d = 2.0 * scale * diff
        stats["bc_distance"] = scale * diff.pow(2).sum(-1).mean()
        w = alpha()
        if form == "eq6":
            return g + w * grad_d
        return w * g + (1.0 - w) * grad_d

    return hook


@register("bc_penalty")
def build_bc_penalty(ctx: MitigationContext) -> list[Callback]:
    p = ctx.config.mitigation.bc_penalty
    where = "mitigation.bc_penalty"
    choice(p.form, ("eq6", "convex"), f"{where}.form")
    choice(p.controller, ("fixed", "confidence"), f"{where}.controller")
    scale = distance_scale(ctx, p.bc_reduce, f"{where}.bc_reduce")
    a_beta = behaviour_target(ctx, p.target, f"{where}.target")
    every = ctx.config.log.train_every
    if p.controller == "fixed":
        stats = HookStats(every, {"alpha": p.alpha})
        hook = bc_direction(lambda: p.alpha, p.form, scale, a_beta, stats.stats)
        ctx.agent.actor_directions.append(hook)
        return [stats]
    from wsdiag.mitigations.ccl import ConfidenceController

    controller = ConfidenceController("bc_penalty", ctx, ctx.config.mitigation.ccl_pqd)
    stats = HookStats(every)
    ctx.agent.actor_directions.append(
        bc_direction(lambda: controller.alpha, "convex", scale, a_beta, stats.stats)
    )
    return [controller, stats]
