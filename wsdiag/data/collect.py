"""Rolling out a policy (a wsdiag agent or uniform random actions) into dataset episodes."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from wsdiag.data.minari_io import Episode

Policy = Callable[[np.ndarray], np.ndarray]  # obs -> action in [-1, 1]^da


def random_policy(act_dim: int, rng: np.random.Generator) -> Policy:
    return lambda obs: rng.uniform(-1.0, 1.0, act_dim).astype(np.float32)


def agent_policy(agent: object, noise: float, rng: np.random.Generator) -> Policy:
    """The agent's deterministic action plus N(0, noise^2) Gaussian noise, clipped to the box."""

    def act(obs: np.ndarray) -> np.ndarray:
        a = agent.act(obs, explore=False)  # type: ignore[attr-defined]
        if noise > 0:
            a = a + noise * rng.standard_normal(a.shape)
        return np.clip(a, -1.0, 1.0).astype(np.float32)

    return act


def to_env_units(env: gym.Env, action: np.ndarray) -> np.ndarray:
    """Map an action from [-1, 1] to the bounds of the unwrapped env (what datasets store)."""
    space = env.unwrapped.action_space
    return (space.low + (action + 1.0) * 0.5 * (space.high - space.low)).astype(np.float32)


def rollout(env: gym.Env, policy: Policy, n_steps: int, seed: int, metadata: dict) -> list[Episode]:
    """Exactly n_steps transitions in whole episodes; the last is cut (truncated) if needed.

    `env` acts in [-1, 1] (see wsdiag.envs.make_env); episode k starts from reset(seed + k).
    """
    episodes: list[Episode] = []
    total = 0
    while total < n_steps:
        k = len(episodes)
        obs, _ = env.reset(seed=seed + k)
        observations, actions, rewards, terms, truncs = [obs], [], [], [], []
        done = False
        while not done:
            action = policy(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += 1
            truncated = truncated or (total >= n_steps and not terminated)
            observations.append(obs)
            actions.append(to_env_units(env, action))
            rewards.append(reward)
            terms.append(terminated)
            truncs.append(truncated)
            done = terminated or truncated
        episodes.append(
            Episode(
                np.asarray(observations, np.float32),
                np.asarray(actions, np.float32),
                np.asarray(rewards, np.float64),
                np.asarray(terms),
                np.asarray(truncs),
                {**metadata, "seed": seed + k},
            )
        )
    return episodes


def mean_return(env: gym.Env, policy: Policy, episodes: int, seed: int) -> float:
    """Average undiscounted return of whole episodes (reference scores)."""
    total = 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += float(reward)
            done = terminated or truncated
    return total / episodes
