"""The mitigation registry: the only code allowed to change how the agent learns.

A mitigation is a builder `(MitigationContext) -> list[Callback]`, registered under its name. It
installs hooks on the fine-tuning agent (`actor_directions`, `critic_regularisers`, optimiser
settings) and returns callbacks: controllers that move a scalar (alpha, a horizon) and record it
as a `mitigation/<name>` metric, or rollout schemes that set `loop.action_override`. It is applied
once to the online stage's agent, after the warm start (and again, on a fresh agent, on resume:
controllers keep their state in `loop.state.extra`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym

from wsdiag.agents import ActorCritic
from wsdiag.config import Config
from wsdiag.mitigations.params import MitigationConfig
from wsdiag.probes.probe_set import ProbeSet
from wsdiag.training.callbacks import Callback


@dataclass
class MitigationContext:
    """What a mitigation may use."""

    agent: ActorCritic  # the fine-tuning agent: hooks are installed on it
    pretrained: ActorCritic  # the warm-start source: the behavioural policy pi_beta
    config: Config  # the whole run config (config.mitigation holds the parameters)
    env: gym.Env  # a spare environment (for a guide's own rollouts); not the training env
    behaviour: ProbeSet  # behavioural states and actions (pretrained rollouts or the dataset)
    seed: int


Builder = Callable[[MitigationContext], list[Callback]]
MITIGATIONS: dict[str, Builder] = {"none": lambda ctx: []}


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator adding a builder to MITIGATIONS (its name must be in MITIGATION_NAMES)."""

    def add(builder: Builder) -> Builder:
        MITIGATIONS[name] = builder
        return builder

    return add


StructureHook = Callable[[ActorCritic, MitigationConfig], None]
STRUCTURE_HOOKS: dict[str, StructureHook] = {}


def register_structure(name: str) -> Callable[[StructureHook], StructureHook]:
    """Decorator for a mitigation that changes the agent's networks (BCQ's perturbation actor).

    The hook runs after the warm start and before a checkpoint is loaded into the agent, and
    again whenever a saved agent of such a run is rebuilt (`wsdiag probe`), so that the saved
    state always fits the network it came from.
    """

    def add(hook: StructureHook) -> StructureHook:
        STRUCTURE_HOOKS[name] = hook
        return hook

    return add


def prepare_agent(agent: ActorCritic, mitigation: MitigationConfig) -> None:
    """Apply the configured mitigation's structural change to a fresh agent, if any."""
    import wsdiag.mitigations.builtin  # noqa: F401  (registers every mitigation)

    hook = STRUCTURE_HOOKS.get(mitigation.name)
    if hook is not None:
        hook(agent, mitigation)


PretrainHook = Callable[[ActorCritic, Config], None]
PRETRAIN_HOOKS: dict[str, PretrainHook] = {}


def register_pretraining(name: str) -> Callable[[PretrainHook], PretrainHook]:
    """Decorator for the part of a mitigation that also applies to the pretraining agent
    (TD3BC++'s gradient penalty and relaxation are offline-training methods too)."""

    def add(hook: PretrainHook) -> PretrainHook:
        PRETRAIN_HOOKS[name] = hook
        return hook

    return add


def apply_to_pretraining(agent: ActorCritic, config: Config) -> bool:
    """Install the configured mitigation's pretraining part, if it has one."""
    import wsdiag.mitigations.builtin  # noqa: F401  (registers every mitigation)

    hook = PRETRAIN_HOOKS.get(config.mitigation.name)
    if hook is not None:
        hook(agent, config)
    return hook is not None


def apply_mitigation(ctx: MitigationContext) -> list[Callback]:
    """Install the configured mitigation on ctx.agent; return its callbacks."""
    import wsdiag.mitigations.builtin  # noqa: F401  (registers every mitigation)

    return MITIGATIONS[ctx.config.mitigation.name](ctx)
