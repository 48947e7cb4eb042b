"""A sparse-reward Pendulum for claim R8 (docs/reproduction.md): SparsePendulum-v0.

`wsdiag-examples/SparsePendulum-v0` keeps Pendulum-v1's dynamics, time limit (200 steps) and
action box, with two changes:

    reset:  theta ~ U(pi - 0.1, pi + 0.1), theta_dot ~ U(-0.1, 0.1)   (hanging down, at rest)
    reward: r = 1 if cos(theta) >= cos(UPRIGHT) else 0                 (within 18 deg of upright)

The episode return counts the steps spent upright. A swing-up needs several pumps (the torque
limit, 2, is below what lifts the pendulum directly), so uniformly random or slightly perturbed
actions almost never see a reward: the exploration problem JSRL's guide solves. Select it with

    [env]
    id = "wsdiag-examples/SparsePendulum-v0"
    imports = ["examples.reproduction.sparse_pendulum"]
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv

ENV_ID = "wsdiag-examples/SparsePendulum-v0"
UPRIGHT = math.radians(18.0)  # reward within this angle of the top
START_NOISE = 0.1  # half-width of the start angle (rad) and angular velocity (rad/s)


class SparsePendulumEnv(PendulumEnv):
    """Pendulum-v1 started hanging down, rewarded only while upright (module docstring)."""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        noise = self.np_random.uniform(-START_NOISE, START_NOISE, size=2)
        self.state = np.array([math.pi + noise[0], noise[1]])
        self.last_u = None
        return self._get_obs(), {}

    def step(self, u: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = super().step(u)
        upright = float(math.cos(self.state[0]) >= math.cos(UPRIGHT))
        return obs, upright, terminated, truncated, info


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=SparsePendulumEnv, max_episode_steps=200)
