"""Probe sets: fixed transitions that every probe call of a run sees.

The behavioural set is chosen once per run — rollouts of the pretrained policy, or a
dataset — and saved as `probes/probe_set.npz`; the online set is the newest transitions of the
replay buffer at each probe call. Labels name where a transition comes from (`behaviour`, or a
dataset's `expert` / `non-expert`), so that probes can split on them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from wsdiag.atomic import atomic_write
from wsdiag.data.buffer import ReplayBuffer
from wsdiag.safe_files import PROBE_FILE_BYTES, PROBE_FILE_WHY, read_npz


@dataclass(frozen=True)
class ProbeSet:
    """N transitions: states [N, ds], actions [N, da], rewards, next_states, terminated, labels."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    terminated: np.ndarray
    labels: np.ndarray  # str [N]

    def __len__(self) -> int:
        return len(self.states)

    def tensors(self, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        """Every numeric field as a float32 tensor."""
        return {
            f.name: torch.as_tensor(getattr(self, f.name), dtype=torch.float32, device=device)
            for f in fields(self)
            if f.name != "labels"
        }

    def save(self, path: Path) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **{f.name: getattr(self, f.name) for f in fields(self)})

        atomic_write(Path(path), write)

    @classmethod
    def load(cls, path: Path) -> ProbeSet:
        """The set saved at `path`, whose arrays may declare at most PROBE_FILE_BYTES."""
        names = [f.name for f in fields(cls)]
        data = read_npz(Path(path), "probe set", PROBE_FILE_BYTES, PROBE_FILE_WHY, names, names)
        return cls(**data)

    @classmethod
    def from_buffer(cls, buffer: ReplayBuffer, n: int, label: str = "online") -> ProbeSet:
        """The newest n transitions of a replay buffer."""
        recent = buffer.recent(n)
        return cls(
            states=recent["obs"],
            actions=recent["actions"],
            rewards=recent["rewards"],
            next_states=recent["next_obs"],
            terminated=recent["terminated"],
            labels=np.full(len(recent["rewards"]), label),
        )


def collect_rollouts(
    env: gym.Env, agent: object, n_steps: int, seed: int, label: str = "behaviour"
) -> ProbeSet:
    """n_steps transitions of the agent's deterministic policy, episodes reset from seed + k."""
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    states = np.zeros((n_steps, obs_dim), np.float32)
    next_states = np.zeros_like(states)
    actions = np.zeros((n_steps, act_dim), np.float32)
    rewards = np.zeros(n_steps, np.float32)
    terminated = np.zeros(n_steps, np.float32)
    episode = 0
    obs, _ = env.reset(seed=seed)
    for t in range(n_steps):
        action = agent.act(obs, explore=False)  # type: ignore[attr-defined]
        next_obs, reward, term, trunc, _ = env.step(action)
        states[t], actions[t], rewards[t], next_states[t], terminated[t] = (
            obs,
            action,
            reward,
            next_obs,
            term,
        )
        obs = next_obs
        if term or trunc:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
    labels = np.full(n_steps, label)
    return ProbeSet(states, actions, rewards, next_states, terminated, labels)
