"""The interaction loop of one stage: act, store, update, and call the callbacks.

A stage is a list of phases, each a range of environment steps with its own rules: who acts
(uniform-random actions, the frozen pretrained agent, the agent being trained, or nobody for
offline training on a fixed buffer) and what learns (the critic, the actor). Online pretraining
is [random, pretrain], offline pretraining [pretrain] with no actor (a step is a gradient step);
the online stage after a warm start is [warmup, freeze, finetune]. `step` counts the transitions
collected (or gradient steps taken) in the stage; callbacks see the loop after the step's
transition is stored and its updates are done.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict

import gymnasium as gym
import numpy as np

from wsdiag.agents import ActorCritic
from wsdiag.core import ActionOverride, Actor, Callback, LoopState, Phase, StageClock
from wsdiag.data.buffer import ReplayBuffer, concat_batches
from wsdiag.errors import NonFiniteError
from wsdiag.training.recorder import Recorder


class Loop(StageClock):
    """Runs the phases of one stage over `env` with `agent` (see module docstring)."""

    def __init__(
        self,
        *,
        stage: str,
        env: gym.Env,
        agent: ActorCritic,
        buffer: ReplayBuffer,
        recorder: Recorder,
        phases: Sequence[Phase],
        utd: int,
        batch_size: int,
        seed: int,
        callbacks: Sequence[Callback] = (),
        pretrained: ActorCritic | None = None,
        state: LoopState | None = None,
    ) -> None:
        self.stage, self.env, self.agent, self.buffer = stage, env, agent, buffer
        self.recorder, self.pretrained = recorder, pretrained
        self.phases = [p for p in phases if p.end > p.start]
        self.total_steps = self.phases[-1].end
        self.utd, self.batch_size, self.seed = utd, batch_size, seed
        self.callbacks = list(callbacks)
        self._update_callbacks = [c for c in self.callbacks if c.wants_updates]
        self.state = state or LoopState()
        self.rng = np.random.default_rng(seed)
        if self.state.rng:
            self.rng.bit_generator.state = self.state.rng
        self.phase = self.phase_at(self.state.step)
        self.action_override: ActionOverride | None = None  # a rollout scheme's (JSRL)
        self.episode_return = 0.0
        self.episode_length = 0

    # ------------------------------------------------------------------ queries for callbacks

    def snapshot(self) -> dict[str, object]:
        """The loop state as JSON-ready data, for a checkpoint."""
        self.state.rng = self.rng.bit_generator.state
        return asdict(self.state)

    # ------------------------------------------------------------------ the loop

    def _action(self, obs: np.ndarray) -> np.ndarray:
        if self.phase.actor == Actor.RANDOM:
            return self.rng.uniform(-1.0, 1.0, self.buffer.act_dim).astype(np.float32)
        if self.phase.actor == Actor.AGENT and self.action_override is not None:
            action = self.action_override(self, obs)
            if action is not None:
                return action
        return self.acting_agent().act(obs, explore=True)

    def _reset(self) -> np.ndarray:
        # Episode k of the stage starts from reset(seed + k): a resumed run starts a fresh episode
        # with a seed of its own rather than replaying one.
        obs, _ = self.env.reset(seed=self.seed + 1_000 * self.state.episodes + self.state.step)
        self.episode_return, self.episode_length = 0.0, 0
        return obs

    def _learn(self) -> None:
        if not self.phase.update_critic or len(self.buffer) < self.batch_size:
            return
        union = self.agent.cfg.actor_batch == "union" and self.phase.update_actor
        batches = []
        for i in range(self.utd):
            batch = self.buffer.sample(self.batch_size)
            update_actor = self.phase.update_actor and not union
            metrics = self.agent.update(batch, update_actor=update_actor)
            if union:  # one actor step on all the utd batches, after the last critic step
                batches.append(batch)
                if i == self.utd - 1:
                    metrics |= self.agent.update_actor(concat_batches(*batches))
            self.state.updates += 1
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            if bad:
                self._halt(bad)
            for cb in self._update_callbacks:
                cb.on_update(self, batch, metrics)

    def _halt(self, keys: list[str]) -> None:
        where = f"{self.stage} stage, phase {self.phase.name}, step {self.state.step}"
        self.recorder.event(
            "nan_halt", stage=self.stage, phase=self.phase.name, step=self.state.step, keys=keys
        )
        self.recorder.flush()
        raise NonFiniteError(
            f"non-finite {', '.join(keys)} at {where}; the run stopped and its last "
            "checkpoint is kept"
        )

    def run(self) -> LoopState:
        """Run until the last phase ends or a callback sets `state.stop_reason`."""
        for cb in self.callbacks:
            cb.on_start(self)
            cb.on_phase(self, self.phase.name)
        obs = self._reset()
        while not self.done:
            phase = self.phase_at(self.state.step)
            if phase.name != self.phase.name:
                self.phase = phase
                for cb in self.callbacks:
                    cb.on_phase(self, phase.name)
            self.phase = phase
            if phase.actor == Actor.NONE:
                self.state.step += 1
                self._learn()
                for cb in self.callbacks:
                    cb.on_env_step(self)
                continue
            action = self._action(obs)
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            self.buffer.add(obs, action, float(reward), next_obs, terminated, truncated)
            self.episode_return += float(reward)
            self.episode_length += 1
            self.state.step += 1
            obs = next_obs
            if terminated or truncated:
                self.buffer.close_episode(self.episode_length, self.agent.gamma)
                self.state.episodes += 1
                for cb in self.callbacks:
                    cb.on_episode_end(self, self.episode_return, self.episode_length)
                obs = self._reset()
            self._learn()
            for cb in self.callbacks:
                cb.on_env_step(self)
        for cb in self.callbacks:
            cb.on_end(self)
        return self.state
