"""What a mitigation is: its parameters, their check, what it installs; and the context it gets.

A mitigation module defines a frozen dataclass `Params` (every field documented where it is
declared: the table [mitigation.<name>]), optionally `check(params)` (names the bad field),
`requires(config)` (what it needs of the rest of the config) and `pretrain(agent, params)` (the
part that also applies to the pretraining agent), and `install(ctx, params) -> callbacks`, and
ends with `MITIGATION = Mitigation("<name>", Params, install, ...)`: its name, written once.

`install` is the only code allowed to change how the agent learns: it adds hooks to the
fine-tuning agent (`actor_directions`, `critic_regularisers`, `target_hooks`, a TD3BC agent's
`bc_weight`, optimiser settings) whose metrics come back through `agent.update()`, and returns
callbacks: controllers that move a scalar (alpha, a horizon) and record it as `mitigation/<key>`,
keeping their state in `loop.state.controllers[<name>]`, or rollout schemes that set
`loop.action_override`. It runs once on the online stage's agent after the warm start, and again
on a fresh agent when a run resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from wsdiag.agents import ActorCritic
from wsdiag.config import Config
from wsdiag.core import Callback, LoopView
from wsdiag.data.probe_set import ProbeSet
from wsdiag.errors import WsdiagError


@dataclass
class MitigationContext:
    """What a mitigation may use."""

    agent: ActorCritic  # the fine-tuning agent: hooks are installed on it
    pretrained: ActorCritic  # the warm-start source: the behavioural policy pi_beta
    config: Config  # the whole run config
    env: gym.Env  # a spare environment (for a guide's own rollouts); not the training env
    behaviour: ProbeSet  # behavioural states and actions (pretrained rollouts or the dataset)
    seed: int


def _no_check(params: Any) -> None:
    return None


def _no_requirement(config: Config) -> None:
    return None


def _always(config: Config) -> bool:
    return True


@dataclass(frozen=True)
class Mitigation:
    """One registered mitigation (see the module docstring)."""

    name: str
    params: type  # frozen dataclass of [mitigation.<name>]
    install: Callable[[MitigationContext, Any], list[Callback]]
    check: Callable[[Any], None] = _no_check
    requires: Callable[[Config], None] = _no_requirement
    pretrain: Callable[[ActorCritic, Any], None] | None = None
    pretrains: Callable[[Config], bool] = _always  # does `pretrain` change this config's agent?


def need(condition: bool, message: str) -> None:
    """A check: raise WsdiagError(message) unless `condition`."""
    if not condition:
        raise WsdiagError(message)


def one_of(value: str, options: tuple[str, ...], where: str) -> None:
    need(value in options, f"{where} = '{value}' is not one of {', '.join(options)}")


class LogConstants(Callback):
    """Records fixed settings once at the start as `mitigation/<key>` (a fixed alpha, an lr)."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def on_start(self, loop: LoopView) -> None:
        rows = {f"mitigation/{k}": float(v) for k, v in self.values.items()}
        loop.recorder.log(loop.step, loop.phase.name, rows)
