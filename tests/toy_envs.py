"""Toy environments for the tests: a goal-conditioned Dict task that reports `is_success`.

`GoalReach`: a point p in the plane moves by `speed` * a per step, a in the env's box [-2, 2]^2,
towards a goal g drawn at reset; reward -||p - g||; `info["is_success"]` = ||p - g|| < 0.05
(Gymnasium-Robotics' convention for Fetch). Observations are Gymnasium-Robotics' Dict:
`observation` = (p, t / T, then `extra` zeros), `achieved_goal` = p, `desired_goal` = g.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

GOAL_REACH = "WsdiagGoalReach-v0"
HORIZON = 20
TOLERANCE = 0.05


class GoalReach(gym.Env):
    def __init__(self, speed: float = 0.1, extra: int = 0) -> None:
        self.speed, self.extra = speed, extra
        box = gym.spaces.Box
        self.observation_space = gym.spaces.Dict(
            {
                "observation": box(-np.inf, np.inf, (3 + extra,), np.float64),
                "achieved_goal": box(-3.0, 3.0, (2,), np.float64),
                "desired_goal": box(-1.0, 1.0, (2,), np.float64),
            }
        )
        self.action_space = box(-2.0, 2.0, (2,), np.float32)
        self.pos, self.goal, self.t = np.zeros(2), np.zeros(2), 0

    def _obs(self) -> dict[str, np.ndarray]:
        observation = np.r_[self.pos, self.t / HORIZON, np.zeros(self.extra)]
        return {"observation": observation, "achieved_goal": self.pos.copy(),
                "desired_goal": self.goal.copy()}  # fmt: skip

    def reset(self, *, seed: int | None = None, options: Any = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, 2)
        self.goal = self.np_random.uniform(-1, 1, 2)
        self.t = 0
        return self._obs(), {}

    def step(self, action: np.ndarray):
        self.pos = np.clip(self.pos + self.speed * np.asarray(action, float), -3.0, 3.0)
        self.t += 1
        distance = float(np.linalg.norm(self.pos - self.goal))
        info = {"is_success": float(distance < TOLERANCE)}
        return self._obs(), -distance, False, False, info


def register_goal_reach() -> str:
    """Register GOAL_REACH once (T = HORIZON steps, then truncation); return its id."""
    if GOAL_REACH not in gym.registry:
        gym.register(GOAL_REACH, entry_point="tests.toy_envs:GoalReach", max_episode_steps=HORIZON)
    return GOAL_REACH


def towards_goal(obs: np.ndarray) -> np.ndarray:
    """A policy in [-1, 1]^2 units for the flattened GoalReach observation (observation,
    achieved_goal, desired_goal): full speed towards g, slowing within the last step."""
    achieved, desired = obs[-4:-2], obs[-2:]
    return np.clip(5.0 * (desired - achieved), -1.0, 1.0).astype(np.float32)
