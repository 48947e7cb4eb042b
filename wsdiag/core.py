"""The interfaces everything else imports: phases, the callback lifecycle and `due`.

Imports nothing of wsdiag. A stage of a run is a list of `Phase`s, each a range of environment
steps with its own rules (who acts, what learns); `Callback`s observe the loop that runs them
through a short lifecycle and `LoopView`, the part of the loop a callback may read or set.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

# Stages of a run and the phases of each, as recorded in every metric row.
PRETRAIN, ONLINE = "pretrain", "online"
PRETRAIN_PHASES = ("pretrain",)
ONLINE_PHASES = ("warmup", "freeze", "finetune")


class Actor(enum.StrEnum):
    """Who generates the transitions of a phase."""

    RANDOM = "random"  # uniform random actions in [-1, 1]^da
    PRETRAINED = "pretrained"  # the frozen pretrained agent
    AGENT = "agent"  # the agent being trained
    NONE = "none"  # nobody: offline training on a fixed buffer (a step is a gradient step)


@dataclass(frozen=True)
class Phase:
    """Steps [start, end) of a stage and what happens during them."""

    name: str  # recorded with every metric row
    start: int
    end: int
    actor: Actor
    update_critic: bool
    update_actor: bool


@dataclass
class LoopState:
    """The loop's counters; saved in checkpoints (JSON)."""

    step: int = 0
    episodes: int = 0
    updates: int = 0
    last_eval: float | None = None
    stop_reason: str | None = None
    rng: dict[str, Any] = field(default_factory=dict)  # numpy bit-generator state
    controllers: dict[str, Any] = field(default_factory=dict)  # callbacks' JSON state

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopState:
        """From a checkpoint's state.json (`extra` is the old name of `controllers`)."""
        data = dict(data)
        if "extra" in data:
            data["controllers"] = data.pop("extra")
        return cls(**data)


class MetricSink(Protocol):
    """Where callbacks record: long-form scalar rows and events."""

    def log(self, step: int, phase: str, metrics: dict[str, float]) -> None: ...
    def event(self, kind: str, **fields: Any) -> None: ...


# A rollout scheme (JSRL) may act instead of the agent: (loop, obs) -> action, or None to let
# the agent act.
ActionOverride = Callable[["LoopView", "np.ndarray"], "np.ndarray | None"]


class StageClock:
    """Where a stage stands, as callbacks ask it: the step, whether it is done, the phase of a
    step and who acts in it. Subclasses set `state`, `phases` (non-empty, in order),
    `total_steps`, `phase`, `agent` and `pretrained`."""

    state: LoopState
    phases: list[Phase]
    total_steps: int
    phase: Phase
    agent: Any
    pretrained: Any

    @property
    def step(self) -> int:
        return self.state.step

    @property
    def done(self) -> bool:
        return self.state.step >= self.total_steps or self.state.stop_reason is not None

    def phase_at(self, step: int) -> Phase:
        """The phase holding `step` (the last one past the end)."""
        return next((p for p in self.phases if step < p.end), self.phases[-1])

    def acting_agent(self, phase: Phase | None = None) -> Any:
        """The agent whose policy generates data in `phase` (and is evaluated then)."""
        phase = phase or self.phase
        if phase.actor == Actor.PRETRAINED and self.pretrained is not None:
            return self.pretrained
        return self.agent


class LoopView(Protocol):
    """What a callback sees of the loop running a stage."""

    stage: str
    phase: Phase
    state: LoopState
    recorder: MetricSink
    agent: Any  # the agent being trained
    pretrained: Any  # the warm-start source (None while pretraining)
    buffer: Any
    episode_length: int
    action_override: ActionOverride | None

    @property
    def step(self) -> int: ...
    @property
    def done(self) -> bool: ...
    def acting_agent(self) -> Any: ...


class Callback:
    """Every hook does nothing. Set `wants_updates` to receive `on_update`.

    Callbacks record, evaluate, checkpoint, move a controller's scalar or stop the loop (by
    setting `loop.state.stop_reason`); only a mitigation's callbacks touch how the agent learns.
    """

    wants_updates = False

    def on_start(self, loop: LoopView) -> None: ...
    def on_phase(self, loop: LoopView, name: str) -> None: ...
    def on_env_step(self, loop: LoopView) -> None: ...
    def on_update(self, loop: LoopView, batch: Any, metrics: dict[str, float]) -> None: ...
    def on_episode_end(self, loop: LoopView, episode_return: float, length: int) -> None: ...
    def on_end(self, loop: LoopView) -> None: ...


def due(loop: LoopView, every: int) -> bool:
    """True on multiples of `every` and at the last step of the stage."""
    return (every > 0 and loop.step % every == 0) or loop.done
