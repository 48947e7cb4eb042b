"""wsdiag's public Python API: its probes, evaluations and diagnosis for your own trainer.

This module is the only surface of wsdiag that promises stability (docs/api.md). A training loop
that wsdiag does not run records its online stage into a standard run directory, which
`wsdiag report`, `wsdiag diagnose` and `wsdiag export` read as they read `wsdiag train`'s:

    from wsdiag.api import Phases, record

    run = record("runs/mine", env="Pendulum-v1", actor=actor, critic=critic,
                 reference_actor=pretrained_actor, reference_critic=pretrained_critic,
                 phases=Phases(policy_start=1000, update_start=1000, total_steps=10_000),
                 trainer="cleanrl")
    for t in range(1, 10_001):
        ...  # act, store, update
        run.step(t)
    run.close()

Networks work in the environment's units: `actor(obs [N, ds]) -> actions [N, da]` and
`critic(obs [N, ds], actions [N, da]) -> Q [E, N]` (every critic of the ensemble; [N] for one).
The critic is a torch module (an `nn.ModuleList` of the critics with a `forward` that stacks
them will do): the frozen-critic probes keep a copy of it taken when policy updates begin, and
a plain function cannot be copied; the actors may be modules or any callables on tensors. The
probe keys recorded are those of `wsdiag.probe_keys`, the vocabulary of every metric.
Stable-Baselines3 has its callback: `wsdiag.integrations.sb3.WsdiagCallback`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from wsdiag import probe_keys
from wsdiag.data.offline import load_offline_data
from wsdiag.data.probe_set import ProbeSet
from wsdiag.envs import action_bounds, make_env
from wsdiag.errors import WsdiagError
from wsdiag.integrations.agent import ActorFn, CallableAgent, CriticFn
from wsdiag.integrations.recording import Phases, Recording

API_VERSION = 1  # raised only when a name below changes its meaning


def record(
    run_dir: str | Path,
    *,
    env: str,
    actor: ActorFn,
    critic: CriticFn,
    reference_actor: ActorFn,
    phases: Phases,
    reference_critic: CriticFn | None = None,
    critic_target: CriticFn | None = None,
    critic_loaded: bool = False,
    probe_set: ProbeSet | str | None = None,
    online: Callable[[int], ProbeSet | None] | None = None,
    trainer: str = "api",
    algo: str = "td3",
    reference_algo: str = "td3",
    seed: int = 0,
    gamma: float = 0.99,
    eval_every: int = 2_000,
    eval_episodes: int = 5,
    probe_every: int = 2_000,
    probes: dict[str, Any] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    max_episode_steps: int | None = None,
    policy_std: float = 0.1,
    device: str | None = None,
) -> Recording:
    """Start recording the online stage of your training loop into `run_dir` (a new folder).

    actor, critic: the networks being fine-tuned (the critic also its target `critic_target`,
    else the TD-error probes bootstrap from `critic`); reference_actor, reference_critic: the
    pretrained agent (drift and the reference-critic probes need it); critic_loaded: the online
    critic started as the pretrained one. probe_set: the behavioural states and actions (a
    `ProbeSet` from `probe_set_from_arrays`, a local Minari dataset id, or None: rollouts of
    the reference policy); online(n): the newest n transitions of your buffer
    (`probe_set_from_arrays`), for the online-state probes. trainer, algo, reference_algo:
    names recorded in config.toml (`algo`, `reference_algo`: wsdiag's names, td3 | sac | ...).
    probes: [probes] settings (docs/config.md). Everything is checked before a file is
    written; a bad argument is a WsdiagError naming it.
    """
    if not isinstance(critic, nn.Module):
        raise WsdiagError(
            "critic: must be a torch module (an nn.ModuleList of the critics whose forward "
            "returns Q [E, N], say): the frozen-critic probes keep a copy of it, taken when "
            "policy updates begin, and a plain function cannot be copied"
        )
    low, high = _action_box(env, json.dumps(env_kwargs or {}, sort_keys=True))
    common = {"low": low, "high": high, "gamma": gamma, "policy_std": policy_std,
              "device": device}  # fmt: skip
    agent = CallableAgent(actor, critic, critic_target=critic_target, **common)
    reference = CallableAgent(reference_actor, reference_critic, **common)
    env_table: dict[str, Any] = {"id": env, "kwargs": dict(env_kwargs or {})}
    if max_episode_steps is not None:
        env_table["max_episode_steps"] = max_episode_steps
    config = {
        "name": Path(run_dir).name,
        "seed": seed,
        "trainer": trainer,
        "env": env_table,
        "pretrain": {"algo": reference_algo, "gamma": gamma},
        "warmstart": {"load": ["actor", "critic"] if critic_loaded else ["actor"]},
        "finetune": {"algo": algo, "gamma": gamma},
        "eval": {"every": eval_every, "episodes": eval_episodes},
        "probes": {"every": probe_every, **(probes or {})},
    }
    if isinstance(probe_set, str):
        probe_set = probe_set_from_dataset(probe_set, env, (probes or {}).get("states", 256), seed)
    return Recording(run_dir, config, agent, reference, phases, probe_set=probe_set,
                     online=online, critic_loaded=critic_loaded,
                     reference_algo=reference_algo)  # fmt: skip


def probe_set_from_arrays(
    env: str,
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray | None = None,
    next_states: np.ndarray | None = None,
    terminated: np.ndarray | None = None,
    label: str = "behaviour",
    env_kwargs: dict[str, Any] | None = None,
) -> ProbeSet:
    """A probe set from transitions in the environment's units (actions within its box,
    converted here to wsdiag's [-1, 1]); rewards, next states and terminations default to
    zeros, the states and no termination (the TD-error probes then read nothing of them)."""
    low, high = _action_box(env, json.dumps(env_kwargs or {}, sort_keys=True))
    states = np.asarray(states, np.float32)
    actions = np.asarray(actions, np.float32)
    if states.ndim != 2 or actions.ndim != 2 or len(states) != len(actions):
        raise WsdiagError(
            f"probe set: states {states.shape} and actions {actions.shape} must be [N, ds] and "
            "[N, da] with the same N"
        )
    n = len(states)
    unit = (2 * (actions - low) / (high - low) - 1).astype(np.float32)
    return ProbeSet(
        states=states,
        actions=unit,
        rewards=np.zeros(n, np.float32) if rewards is None else np.asarray(rewards, np.float32),
        next_states=states if next_states is None else np.asarray(next_states, np.float32),
        terminated=(
            np.zeros(n, np.float32) if terminated is None else np.asarray(terminated, np.float32)
        ),
        labels=np.full(n, label),
    )


@functools.lru_cache(maxsize=8)
def _action_box(env: str, kwargs: str) -> tuple[np.ndarray, np.ndarray]:
    """The env's own action bounds (`kwargs` its gym.make kwargs as JSON, lists allowed), made
    once per env: an `online` callable asks at each probe."""
    return action_bounds(make_env(env, None, json.loads(kwargs)))


def probe_set_from_dataset(dataset: str, env: str, n: int = 256, seed: int = 0) -> ProbeSet:
    """A uniform sample of n transitions of a local Minari dataset made in `env`."""
    data = load_offline_data(dataset, make_env(env), 0.99)
    found = data.probe_set(n, seed)
    if found is None:
        raise WsdiagError(f"probe_set: dataset '{dataset}' has no transitions")
    return found


__all__ = [
    "API_VERSION",
    "CallableAgent",
    "Phases",
    "ProbeSet",
    "Recording",
    "WsdiagError",
    "probe_keys",
    "probe_set_from_arrays",
    "probe_set_from_dataset",
    "record",
]
