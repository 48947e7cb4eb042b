"""Replay buffer: storage, wrap-around, sampling, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wsdiag.data.buffer import ORIGIN_PRETRAIN, ReplayBuffer
from wsdiag.errors import WsdiagError


def _fill(buffer: ReplayBuffer, n: int) -> None:
    for i in range(n):
        obs = np.full(buffer.obs_dim, i, np.float32)
        buffer.add(obs, np.full(buffer.act_dim, -i), float(i), obs + 1, i % 5 == 0, i % 7 == 0)


def test_add_and_sample_keep_fields_aligned() -> None:
    buffer = ReplayBuffer(100, 3, 2, seed=0)
    _fill(buffer, 40)
    batch = buffer.sample(64)
    assert batch.obs.shape == (64, 3) and batch.actions.shape == (64, 2) and len(batch) == 64
    i = batch.rewards.numpy()
    np.testing.assert_array_equal(batch.obs[:, 0].numpy(), i)
    np.testing.assert_array_equal(batch.next_obs[:, 0].numpy(), i + 1)
    np.testing.assert_array_equal(batch.terminated.numpy(), (i % 5 == 0).astype(np.float32))
    np.testing.assert_array_equal(batch.truncated.numpy(), (i % 7 == 0).astype(np.float32))


def test_ring_overwrites_oldest() -> None:
    buffer = ReplayBuffer(10, 1, 1)
    _fill(buffer, 25)
    assert len(buffer) == 10
    np.testing.assert_array_equal(buffer.arrays()["rewards"], np.arange(15, 25))


def test_save_load_round_trip(tmp_path: Path) -> None:
    buffer = ReplayBuffer(10, 2, 1, seed=4)
    _fill(buffer, 13)
    saved = buffer.arrays()
    buffer.save(tmp_path / "b.npz")
    same = ReplayBuffer(10, 2, 1, seed=99)
    same.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(buffer.sample(8).rewards, same.sample(8).rewards)
    _fill(buffer, 2)
    _fill(same, 2)  # the ring continues where it stopped
    for key, value in buffer.arrays().items():
        np.testing.assert_array_equal(same.arrays()[key], value)
    bigger = ReplayBuffer(20, 2, 1)
    bigger.load(tmp_path / "b.npz")
    for key, value in saved.items():
        np.testing.assert_array_equal(bigger.arrays()[key], value)


def test_load_retags_origin_and_checks_shapes(tmp_path: Path) -> None:
    buffer = ReplayBuffer(10, 2, 1)
    _fill(buffer, 5)
    buffer.save(tmp_path / "b.npz")
    other = ReplayBuffer(10, 2, 1)
    other.load(tmp_path / "b.npz", origin=ORIGIN_PRETRAIN)
    assert (other.arrays()["origin"] == ORIGIN_PRETRAIN).all()
    with pytest.raises(WsdiagError, match="expects"):
        ReplayBuffer(10, 3, 1).load(tmp_path / "b.npz")


def test_monte_carlo_returns_are_unknown_until_the_episode_ends() -> None:
    buffer = ReplayBuffer(4, 1, 1)
    for r in (1.0, 2.0, 3.0):
        buffer.add(np.zeros(1), np.zeros(1), r, np.zeros(1), False, False)
    assert np.isnan(buffer.mc_return[:3]).all()  # unknown, never 0
    buffer.close_episode(3, gamma=0.5)
    np.testing.assert_allclose(buffer.mc_return[:3], [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3])
    for r in (4.0, 5.0):  # wraps: overwrites the first slot
        buffer.add(np.zeros(1), np.zeros(1), r, np.zeros(1), False, False)
    buffer.close_episode(2, gamma=0.5)
    np.testing.assert_allclose(buffer.mc_return[[3, 0]], [4 + 0.5 * 5, 5])
    np.testing.assert_allclose(buffer.mc_return[1:3], [2 + 0.5 * 3, 3])


def test_the_loop_writes_each_finished_episode_return_to_go(tmp_path: Path) -> None:
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig
    from wsdiag.core import Actor, Phase
    from wsdiag.envs import make_env
    from wsdiag.training.loop import Loop
    from wsdiag.training.recorder import Recorder

    env = make_env("Pendulum-v1", max_episode_steps=20)
    buffer = ReplayBuffer(100, 3, 1)
    agent = make_agent(AgentConfig(hidden=(8,), gamma=0.9), 3, 1)
    phase = Phase("p", 0, 50, Actor.RANDOM, update_critic=False, update_actor=False)
    Loop(stage="pretrain", env=env, agent=agent, buffer=buffer, recorder=Recorder(tmp_path),
         phases=[phase], utd=1, batch_size=8, seed=0).run()  # fmt: skip
    rewards, mc = buffer.rewards[:50].astype(np.float64), buffer.mc_return[:50]
    for start in (0, 20):  # two finished episodes of 20 steps
        g = 0.0
        for t in range(start + 19, start - 1, -1):
            g = rewards[t] + 0.9 * g
            assert mc[t] == pytest.approx(g, rel=1e-5)
    assert np.isnan(mc[40:]).all()  # the unfinished third episode
