"""Training throughput (env steps/s) of wsdiag's real `Loop` versus Stable-Baselines3.

Both do the same work per timed step: one env step, one replay-buffer insert and one gradient
update (batch 256, [256, 256] networks, learning rate 3e-4). Each run starts with `random_steps`
uniform-random steps that fill the buffer and are not timed; the clock then runs over the next
`steps` steps, each followed by exactly one update (SB3: learning_starts, train_freq=1,
gradient_steps=1).
"""

from __future__ import annotations

import tempfile
import time

import gymnasium as gym
import numpy as np

from benchmarks.common import BATCH, ENV_IDS, HIDDEN, LR, set_threads, training_loop
from wsdiag.training.callbacks import Callback
from wsdiag.training.loop import Loop


class _Stopwatch(Callback):
    """Starts the clock once `start` env steps are done; stops it when the loop ends."""

    def __init__(self, start: int) -> None:
        self.start, self.t0, self.t1 = start, 0.0, 0.0

    def on_env_step(self, loop: Loop) -> None:
        if loop.step == self.start:
            self.t0 = time.perf_counter()

    def on_end(self, loop: Loop) -> None:
        self.t1 = time.perf_counter()


def wsdiag_steps_per_s(
    algo: str, env_id: str, steps: int, random_steps: int, buffer_size: int, seed: int = 0
) -> float:
    """Env steps/s of wsdiag's `Loop` over `steps` update steps after `random_steps`."""
    total = random_steps + steps
    watch = _Stopwatch(random_steps)
    with tempfile.TemporaryDirectory() as tmp:
        loop = training_loop(
            algo, env_id, random_steps, total, buffer_size, seed, tmp, callbacks=(watch,)
        )
        state = loop.run()
    loop.env.close()
    assert state.updates == steps, (state.updates, steps)
    return steps / (watch.t1 - watch.t0)


def sb3_steps_per_s(
    algo: str, env_id: str, steps: int, random_steps: int, buffer_size: int, seed: int = 0
) -> float:
    """Env steps/s of Stable-Baselines3's `learn` over the same schedule."""
    from stable_baselines3 import SAC, TD3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    class Stopwatch(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.t0, self.t1 = 0.0, 0.0

        def _on_step(self) -> bool:
            if self.num_timesteps == random_steps:
                self.t0 = time.perf_counter()
            return True

        def _on_training_end(self) -> None:
            self.t1 = time.perf_counter()

    env = gym.make(env_id)
    kwargs = {
        "learning_rate": LR,
        "buffer_size": buffer_size,
        "learning_starts": random_steps,
        "batch_size": BATCH,
        "train_freq": 1,
        "gradient_steps": 1,
        "policy_kwargs": {"net_arch": list(HIDDEN)},
        "device": "cpu",
        "seed": seed,
        "verbose": 0,
    }
    if algo == "td3":
        act_dim = env.action_space.shape[0]
        noise = NormalActionNoise(np.zeros(act_dim), 0.1 * np.ones(act_dim))
        model = TD3("MlpPolicy", env, action_noise=noise, **kwargs)
    else:
        model = SAC("MlpPolicy", env, **kwargs)
    watch = Stopwatch()
    model.learn(total_timesteps=random_steps + steps, callback=watch)
    env.close()
    return steps / (watch.t1 - watch.t0)


def run(
    steps: int,
    random_steps: int,
    buffer_size: int,
    threads: int = 2,
    repeats: int = 2,
    algos: tuple[str, ...] = ("td3", "sac"),
    env_ids: tuple[str, ...] = ENV_IDS,
) -> list[dict[str, object]]:
    """One row per (algo, env): best steps/s of wsdiag and SB3 over `repeats` and their ratio.

    The two libraries alternate (wsdiag first in even repeats, SB3 first in odd ones) so that a
    burst of load elsewhere on the machine hits both; the best of the repeats is reported.
    """
    set_threads(threads)
    rows = []
    for algo in algos:
        for env_id in env_ids:
            samples: dict[str, list[float]] = {"wsdiag": [], "sb3": []}
            for r in range(repeats):
                order = ("wsdiag", "sb3") if r % 2 == 0 else ("sb3", "wsdiag")
                for lib in order:
                    fn = wsdiag_steps_per_s if lib == "wsdiag" else sb3_steps_per_s
                    samples[lib].append(fn(algo, env_id, steps, random_steps, buffer_size))
            ours, theirs = max(samples["wsdiag"]), max(samples["sb3"])
            rows.append(
                {
                    "algo": algo,
                    "env": env_id,
                    "timed_steps": steps,
                    "repeats": repeats,
                    "wsdiag_steps_per_s": ours,
                    "sb3_steps_per_s": theirs,
                    "ratio": ours / theirs,
                    "wsdiag_samples": samples["wsdiag"],
                    "sb3_samples": samples["sb3"],
                }
            )
    return rows
