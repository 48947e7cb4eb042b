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

from benchmarks.common import BATCH, ENV_DIMS, ENV_IDS, HIDDEN, LR, set_threads, training_loop
from benchmarks.flops import sgemm_flops_per_s, update_flops, why_step_short
from benchmarks.report import TARGETS
from wsdiag.training.callbacks import Callback
from wsdiag.training.loop import Loop

TARGET = TARGETS["throughput"]  # wsdiag / SB3 env steps per second, one update per step


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


def env_step_seconds(env_id: str, steps: int = 2_000, seed: int = 0) -> float:
    """Mean wall time of one `env.step` with uniform-random actions (resets not timed)."""
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    total = 0.0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        total += time.perf_counter() - start
        if terminated or truncated:
            env.reset()
    env.close()
    return total / steps


def run(
    steps: int,
    random_steps: int,
    buffer_size: int,
    threads: tuple[int, ...] = (1, 2),
    repeats: int = 2,
    algos: tuple[str, ...] = ("td3", "sac"),
    env_ids: tuple[str, ...] = ENV_IDS,
) -> list[dict[str, object]]:
    """One row per (threads, algo, env): best steps/s of wsdiag and SB3 over `repeats` and their
    ratio, and why a ratio short of `TARGET` is (`flops.why_step_short`).

    The two libraries alternate (wsdiag first in even repeats, SB3 first in odd ones) so that a
    burst of load elsewhere on the machine hits both; the best of the repeats is reported.
    """
    rows = []
    env_seconds = {env_id: env_step_seconds(env_id) for env_id in env_ids}
    for n in threads:
        set_threads(n)
        peak = sgemm_flops_per_s()
        for algo in algos:
            for env_id in env_ids:
                samples: dict[str, list[float]] = {"wsdiag": [], "sb3": []}
                for r in range(repeats):
                    order = ("wsdiag", "sb3") if r % 2 == 0 else ("sb3", "wsdiag")
                    for lib in order:
                        fn = wsdiag_steps_per_s if lib == "wsdiag" else sb3_steps_per_s
                        samples[lib].append(fn(algo, env_id, steps, random_steps, buffer_size))
                ours, theirs = max(samples["wsdiag"]), max(samples["sb3"])
                row = {
                    "threads": n,
                    "algo": algo,
                    "env": env_id,
                    "timed_steps": steps,
                    "repeats": repeats,
                    "wsdiag_steps_per_s": ours,
                    "sb3_steps_per_s": theirs,
                    "ratio": ours / theirs,
                    "wsdiag_samples": samples["wsdiag"],
                    "sb3_samples": samples["sb3"],
                    "env_step_ms": 1e3 * env_seconds[env_id],
                    "peak_gflop_per_s": peak / 1e9,
                }
                if row["ratio"] < TARGET:
                    update = update_flops(algo, *ENV_DIMS[env_id])["total"]
                    row["why"] = why_step_short(
                        ours / theirs, 1 / ours, env_seconds[env_id], update, peak, TARGET
                    )
                rows.append(row)
    return rows
