"""Environment construction: Gymnasium envs with flat observations, actions rescaled to [-1, 1].

Every agent acts in the normalised box [-1, 1]^da; `make_env` wraps the env so that this box maps
affinely onto the env's own bounds. Exploration noise and probe perturbations are therefore
expressed in units of the action half-range.

A Dict observation is flattened into one vector (`FlattenDict`), so that agents, buffers, probes
and datasets only ever see flat vectors. The order of its parts (`dict_key_order`): a
goal-conditioned Dict (Gymnasium-Robotics' `observation`, `achieved_goal`, `desired_goal`) is
`observation`, `achieved_goal`, `desired_goal`, then any other keys sorted; any other Dict is its
keys sorted. Each part is a Box, flattened in C order. Nested Dicts and other leaves are refused.

`[env] imports` names modules imported before `gym.make` (they register their environments);
`[env] kwargs` are passed to `gym.make`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import RescaleAction

from wsdiag.errors import WsdiagError

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")
SUCCESS_KEYS = ("is_success", "success")  # Gymnasium-Robotics: Fetch/Hand, Adroit/Maze

# Gymnasium-Robotics 1.4.2 tasks that fail an assertion on a joint type with mujoco >= 3.12 as
# they are made (`set_joint_qpos`, `get_joint_qpos` in gymnasium_robotics/utils/mujoco_utils.py):
# Fetch and the Shadow hand; they work with mujoco 3.3.7 to 3.11 (docs/robotics.md). Franka
# Kitchen fails there too, but its nested Dict goals are refused with any mujoco.
OLD_MUJOCO_IDS = re.compile(r"^(gymnasium_robotics:)?(Fetch|HandReach|HandManipulate)\w*-v\d+$")
OLD_MUJOCO_BELOW = (3, 12)
OLD_MUJOCO_PIN = "mujoco>=3.3.7,<3.12"
ROBOTICS_PREFIXES = (
    "Fetch",
    "Adroit",
    "FrankaKitchen",
    "AntMaze",
    "PointMaze",
    "HandManipulate",
    "HandReach",
)  # how the ids of Gymnasium-Robotics tasks begin


def dict_key_order(keys: Iterable[str]) -> tuple[str, ...]:
    """The order in which a Dict observation's parts are concatenated (module docstring)."""
    keys = list(keys)
    if all(k in keys for k in GOAL_KEYS):
        return GOAL_KEYS + tuple(sorted(k for k in keys if k not in GOAL_KEYS))
    return tuple(sorted(keys))


@dataclass(frozen=True)
class Part:
    """One part of a flattened observation: obs[start:stop] is `key` flattened."""

    key: str
    start: int
    stop: int


class FlattenDict(gym.ObservationWrapper):
    """A Dict observation of Box parts as one flat Box, parts in `dict_key_order`."""

    def __init__(self, env: gym.Env, env_id: str = "") -> None:
        super().__init__(env)
        space = env.observation_space
        assert isinstance(space, gym.spaces.Dict)
        name = env_id or "the environment"
        self.keys = dict_key_order(space.spaces)
        parts, lows, highs, start = [], [], [], 0
        for key in self.keys:
            leaf = space.spaces[key]
            if isinstance(leaf, gym.spaces.Dict):
                raise WsdiagError(
                    f"'{name}' has a nested Dict observation (under '{key}'); wsdiag flattens "
                    "one level of Box parts only"
                )
            if not isinstance(leaf, gym.spaces.Box):
                raise WsdiagError(
                    f"'{name}' observation part '{key}' is a {type(leaf).__name__}; wsdiag "
                    "flattens Dict observations of Box parts only"
                )
            size = int(np.prod(leaf.shape))
            parts.append(Part(key, start, start + size))
            lows.append(np.ravel(leaf.low))
            highs.append(np.ravel(leaf.high))
            start += size
        self.parts = tuple(parts)
        dtype = np.result_type(*(space.spaces[k].dtype for k in self.keys))
        self.observation_space = gym.spaces.Box(
            np.concatenate(lows).astype(dtype), np.concatenate(highs).astype(dtype), dtype=dtype
        )

    def observation(self, observation: Mapping[str, Any]) -> np.ndarray:
        """The parts concatenated in `self.keys` order, each flattened in C order."""
        flat = np.concatenate([np.ravel(np.asarray(observation[k])) for k in self.keys])
        return flat.astype(self.observation_space.dtype)


def flatten_batch(observations: Mapping[str, Any]) -> np.ndarray:
    """[T, D]: Dict observations stored per key as [T, ...] arrays (a Minari dataset's), in
    `dict_key_order`, each part flattened after its leading axis."""
    keys = dict_key_order(observations)
    if any(isinstance(observations[k], Mapping) for k in keys):
        raise WsdiagError("nested Dict observations in a dataset: wsdiag flattens one level only")
    arrays = [np.asarray(observations[k]) for k in keys]
    return np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=1)


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message; without one, its type and where it was raised."""
    text = str(exc).strip()
    if text:
        return text.splitlines()[0]
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    where = frames[-1].filename.rsplit("site-packages/", 1)[-1]
    return f"{type(exc).__name__} in {where}:{frames[-1].lineno}"


def import_modules(modules: Sequence[str]) -> None:
    """Import each module of `[env] imports` (running its code: it registers environments).

    Modules are found on the Python path and then in the current directory, as `python -m` finds
    them, so that a project's own environment module works from the `wsdiag` command too."""
    if modules and os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            detail = (
                f"{type(exc).__name__}: {_one_line(exc)}" if str(exc).strip() else _one_line(exc)
            )
            raise WsdiagError(f"env.imports: cannot import '{name}': {detail}") from exc


def mujoco_version() -> tuple[int, ...] | None:
    """The installed mujoco's (major, minor, ...) release, or None when it is not installed."""
    try:
        text = importlib.metadata.version("mujoco")
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def check_mujoco_for(env_id: str, version: tuple[int, ...] | None = None) -> None:
    """Refuse a Gymnasium-Robotics id that fails with the installed mujoco (OLD_MUJOCO_IDS)."""
    version = mujoco_version() if version is None else version
    if OLD_MUJOCO_IDS.match(env_id) and version is not None and version >= OLD_MUJOCO_BELOW:
        installed = ".".join(map(str, version))
        raise WsdiagError(
            f"'{env_id}' needs mujoco < 3.12 (with mujoco {installed}, Gymnasium-Robotics 1.4.2 "
            f'fails an assertion on a joint type): pip install "{OLD_MUJOCO_PIN}", best in an '
            "environment of its own (docs/robotics.md)"
        )


def check_env(env_id: str, imports: Sequence[str] = ()) -> None:
    """Import `imports`, then check that `env_id` is registered and runs with this mujoco."""
    import_modules(imports)
    check_env_id(env_id)
    check_mujoco_for(env_id)


def check_env_id(env_id: str) -> None:
    """Raise a clear error for an unknown Gymnasium id (with the closest registered ids)."""
    if env_id in gym.registry:
        return
    import difflib

    close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    if not hint and env_id.startswith(ROBOTICS_PREFIXES):
        hint = ' (a Gymnasium-Robotics task? add imports = ["gymnasium_robotics"] to [env])'
    raise WsdiagError(f"unknown environment id '{env_id}'{hint}")


def make_env(
    env_id: str,
    max_episode_steps: int | None = None,
    kwargs: Mapping[str, Any] | None = None,
    imports: Sequence[str] = (),
) -> gym.Env:
    """Make `env_id` (after importing `imports`, with `kwargs` passed to `gym.make`), its Dict
    observations flattened and its actions rescaled to [-1, 1]; raise WsdiagError for bad ids,
    kwargs or spaces."""
    check_env(env_id, imports)
    try:
        env = gym.make(env_id, max_episode_steps=max_episode_steps, **dict(kwargs or {}))
    except Exception as exc:  # missing mujoco, bad kwargs, ...
        raise WsdiagError(f"cannot make environment '{env_id}': {_one_line(exc)}") from exc
    if not isinstance(env.action_space, gym.spaces.Box):
        raise WsdiagError(
            f"'{env_id}' has a {type(env.action_space).__name__} action space; "
            "wsdiag needs a continuous Box"
        )
    if isinstance(env.observation_space, gym.spaces.Dict):
        env = FlattenDict(env, env_id)
    if (
        not isinstance(env.observation_space, gym.spaces.Box)
        or len(env.observation_space.shape) != 1
    ):
        raise WsdiagError(
            f"'{env_id}' has a {type(env.observation_space).__name__} observation space of shape "
            f"{env.observation_space.shape}; wsdiag needs a flat Box or a Dict of Box parts"
        )
    if not np.all(np.isfinite(env.action_space.low)) or not np.all(
        np.isfinite(env.action_space.high)
    ):
        raise WsdiagError(f"'{env_id}' has unbounded actions")
    shape = env.action_space.shape
    env = RescaleAction(env, np.full(shape, -1.0, np.float32), np.full(shape, 1.0, np.float32))
    try_step(env, env_id, kwargs)
    return env


def try_step(env: gym.Env, env_id: str, kwargs: Mapping[str, Any] | None) -> None:
    """Reset `env` (unseeded: a later seeded reset decides every episode) and take one step with
    the middle action, so that kwargs gym.make stored without checking them (a string where the
    env computes with a number) fail here, in one line, instead of after the run has started."""
    try:
        env.reset()
        env.step(np.zeros(env.action_space.shape, np.float32))
    except Exception as exc:
        given = f" with env.kwargs {dict(kwargs)}" if kwargs else ""
        raise WsdiagError(
            f"'{env_id}'{given} fails on its first reset or step: {_one_line(exc)}"
        ) from exc


def action_bounds(env: gym.Env) -> tuple[np.ndarray, np.ndarray]:
    """The env's own action bounds (low, high), behind the [-1, 1] rescaling of `make_env`:
    the agent's action a maps to low + (high - low) (a + 1) / 2."""
    while isinstance(env, gym.Wrapper) and not isinstance(env, RescaleAction):
        env = env.env
    inner = env.env if isinstance(env, RescaleAction) else env
    space = inner.action_space
    return np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)


def observation_parts(env: gym.Env) -> tuple[Part, ...] | None:
    """Where each part of a flattened Dict observation lies (None: the env's own was flat)."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, FlattenDict):
            return env.parts
        env = env.env
    return None


def space_dims(env: gym.Env) -> tuple[int, int]:
    """(observation dim, action dim) of a flat Box env."""
    return int(env.observation_space.shape[0]), int(env.action_space.shape[0])


@dataclass(frozen=True)
class Evaluation:
    """Returns of evaluation episodes and, when the env reports it, their success (1 or 0)."""

    returns: np.ndarray
    successes: np.ndarray | None  # success reported at each episode's final step

    @property
    def success_rate(self) -> float | None:
        return None if self.successes is None else float(self.successes.mean())


def reported_success(info: Mapping[str, Any]) -> bool | None:
    """The success an env reports in a step's info (`is_success` or `success`), else None."""
    for key in SUCCESS_KEYS:
        if key in info:
            return bool(np.asarray(info[key]).item())
    return None


def evaluate_episodes(
    act: Callable[[np.ndarray], np.ndarray], env: gym.Env, episodes: int, seed: int
) -> Evaluation:
    """`episodes` episodes of the policy `act`; episode k starts from reset(seed + k), so that
    every evaluation of a run sees the same start states. An episode succeeds when the info of
    its final step (terminal or truncated) reports success; `successes` is None when no episode
    reported any."""
    returns = np.zeros(episodes)
    successes: list[bool | None] = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done, info = False, {}
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs))
            returns[k] += float(reward)
            done = terminated or truncated
        successes.append(reported_success(info))
    if all(s is None for s in successes):
        return Evaluation(returns, None)
    return Evaluation(returns, np.array([float(bool(s)) for s in successes]))


def evaluate(
    act: Callable[[np.ndarray], np.ndarray], env: gym.Env, episodes: int, seed: int
) -> np.ndarray:
    """Returns of `evaluate_episodes`."""
    return evaluate_episodes(act, env, episodes, seed).returns


def uniform_random(act_dim: int, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """A policy of uniform random actions in [-1, 1]^da, seeded."""
    rng = np.random.default_rng(seed)
    return lambda obs: rng.uniform(-1.0, 1.0, act_dim).astype(np.float32)
