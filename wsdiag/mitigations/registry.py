"""The mitigation registry: every mitigation by its name, and what the run asks of it.

A mitigation's table was read once into its typed `Params` when the config loaded
(`wsdiag.config.mitigations`); `config.mitigation.params` goes to `install` as it is.
"""

from __future__ import annotations

from wsdiag.agents import ActorCritic
from wsdiag.config import TABLES, Config
from wsdiag.core import Callback
from wsdiag.mitigations import (
    adaptive_bc,
    bc_penalty,
    ccl_bc,
    ccl_pqd,
    critic_bc,
    critic_weighted,
    grad_clip,
    gradient_penalty,
    jsrl,
    jsrl_random,
    lr_scale,
    pqd,
    td3bc_pp,
)
from wsdiag.mitigations.base import Mitigation, MitigationContext

NONE = Mitigation(TABLES["none"], lambda ctx, p: [])
MITIGATIONS: dict[str, Mitigation] = {
    m.name: m
    for m in (
        NONE,
        bc_penalty.MITIGATION,
        pqd.MITIGATION,
        ccl_pqd.MITIGATION,
        ccl_bc.MITIGATION,
        grad_clip.MITIGATION,
        lr_scale.MITIGATION,
        critic_bc.MITIGATION,
        gradient_penalty.MITIGATION,
        critic_weighted.MITIGATION,
        td3bc_pp.MITIGATION,
        adaptive_bc.MITIGATION,
        jsrl.MITIGATION,
        jsrl_random.MITIGATION,
    )
}


def apply_mitigation(ctx: MitigationContext) -> list[Callback]:
    """Install the configured mitigation on ctx.agent; return its callbacks."""
    mitigation = ctx.config.mitigation
    return MITIGATIONS[mitigation.name].install(ctx, mitigation.params)


def apply_to_pretraining(agent: ActorCritic, config: Config) -> bool:
    """Install the configured mitigation's pretraining part, if it has one; True if it did."""
    mitigation = MITIGATIONS[config.mitigation.name]
    if mitigation.pretrain is None:
        return False
    mitigation.pretrain(agent, config.mitigation.params)
    return True


def check_inputs(config: Config) -> None:
    """The files the configured mitigation's parameters name are what it needs (a guide's
    checkpoint), before the run starts."""
    name = config.mitigation.name
    MITIGATIONS[name].inputs(config.mitigation.params, f"mitigation.{name}")
