"""What a mitigation is: the table it reads, what it installs; and the context it gets.

A mitigation's table, [mitigation.<name>], is `wsdiag.config.mitigations.<name>`: its frozen
dataclass `Params` (every field documented where it is declared), their check and what it
requires of the rest of the config, read once when the config loads. The module
`wsdiag.mitigations.<name>` defines `install(ctx, params) -> callbacks`, optionally
`pretrain(agent, params)` (the part that also applies to the pretraining agent) and
`inputs(params, where)` (the files its parameters name, checked when the run starts), and ends
with `MITIGATION = Mitigation(TABLE, install, ...)`: the name is the table's, written once.

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
from wsdiag.config import Config, OwnParams
from wsdiag.config.mitigations.base import Table
from wsdiag.core import Callback, LoopView
from wsdiag.data.probe_set import ProbeSet


@dataclass
class MitigationContext:
    """What a mitigation may use."""

    agent: ActorCritic  # the fine-tuning agent: hooks are installed on it
    pretrained: ActorCritic  # the warm-start source: the behavioural policy pi_beta
    config: Config  # the whole run config
    env: gym.Env  # a spare environment (for a guide's own rollouts); not the training env
    behaviour: ProbeSet  # behavioural states and actions (pretrained rollouts or the dataset)
    seed: int


def _no_inputs(params: Any, where: str) -> None:
    return None


def _always(config: Config) -> bool:
    return True


@dataclass(frozen=True)
class Mitigation:
    """One registered mitigation (see the module docstring)."""

    table: Table  # its name, `Params`, check and requirements (wsdiag.config.mitigations)
    install: Callable[[MitigationContext, Any], list[Callback]]
    pretrain: Callable[[ActorCritic, Any], None] | None = None
    pretrains: Callable[[Config], bool] = _always  # does `pretrain` change this config's agent?
    inputs: Callable[[Any, str], None] = _no_inputs  # the files its parameters name

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def params(self) -> type[OwnParams]:
        """The dataclass of [mitigation.<name>]."""
        return self.table.params


class LogConstants(Callback):
    """Records fixed settings once at the start as `mitigation/<key>` (a fixed alpha, an lr)."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def on_start(self, loop: LoopView) -> None:
        rows = {f"mitigation/{k}": float(v) for k, v in self.values.items()}
        loop.recorder.log(loop.step, loop.phase.name, rows)
