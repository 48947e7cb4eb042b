"""Environment construction: Gymnasium envs with actions rescaled to [-1, 1], and seeding.

Every agent acts in the normalised box [-1, 1]^da; `make_env` wraps the env so that this box maps
affinely onto the env's own bounds. Exploration noise and probe perturbations are therefore
expressed in units of the action half-range.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import RescaleAction

from wsdiag.errors import WsdiagError


def check_env_id(env_id: str) -> None:
    """Raise a clear error for an unknown Gymnasium id (with the closest registered ids)."""
    if env_id in gym.registry:
        return
    import difflib

    close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise WsdiagError(f"unknown environment id '{env_id}'{hint}")


def make_env(env_id: str, max_episode_steps: int | None = None) -> gym.Env:
    """Make `env_id` with actions rescaled to [-1, 1]; raise WsdiagError for bad ids or spaces."""
    check_env_id(env_id)
    try:
        env = gym.make(env_id, max_episode_steps=max_episode_steps)
    except Exception as exc:  # missing mujoco, bad kwargs, ...
        raise WsdiagError(f"cannot make environment '{env_id}': {exc}") from exc
    if not isinstance(env.action_space, gym.spaces.Box):
        raise WsdiagError(
            f"'{env_id}' has a {type(env.action_space).__name__} action space; "
            "wsdiag needs a continuous Box"
        )
    if (
        not isinstance(env.observation_space, gym.spaces.Box)
        or len(env.observation_space.shape) != 1
    ):
        raise WsdiagError(f"'{env_id}' needs a flat Box observation space")
    if not np.all(np.isfinite(env.action_space.low)) or not np.all(
        np.isfinite(env.action_space.high)
    ):
        raise WsdiagError(f"'{env_id}' has unbounded actions")
    shape = env.action_space.shape
    return RescaleAction(env, np.full(shape, -1.0, np.float32), np.full(shape, 1.0, np.float32))


def action_bounds(env: gym.Env) -> tuple[np.ndarray, np.ndarray]:
    """The env's own action bounds (low, high), behind the [-1, 1] rescaling of `make_env`:
    the agent's action a maps to low + (high - low) (a + 1) / 2."""
    inner = env.env if isinstance(env, RescaleAction) else env
    space = inner.action_space
    return np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)


def space_dims(env: gym.Env) -> tuple[int, int]:
    """(observation dim, action dim) of a flat Box env."""
    return int(env.observation_space.shape[0]), int(env.action_space.shape[0])


def evaluate(
    act: Callable[[np.ndarray], np.ndarray], env: gym.Env, episodes: int, seed: int
) -> np.ndarray:
    """Returns of `episodes` episodes of the policy `act`; episode k starts from reset(seed + k),
    so that every evaluation of a run sees the same start states."""
    returns = np.zeros(episodes)
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            returns[k] += float(reward)
            done = terminated or truncated
    return returns


def uniform_random(act_dim: int, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """A policy of uniform random actions in [-1, 1]^da, seeded."""
    rng = np.random.default_rng(seed)
    return lambda obs: rng.uniform(-1.0, 1.0, act_dim).astype(np.float32)
