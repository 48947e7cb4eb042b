"""Dataset speed and memory: a 1M-transition HalfCheetah buffer's size, and loading a Minari
dataset into a buffer vs Minari's own iteration over its episodes."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import numpy as np

from wsdiag.data.buffer import ReplayBuffer

OBS, ACT = 17, 6  # HalfCheetah-v5
EPISODE = 1000


def buffer_megabytes(capacity: int = 1_000_000) -> float:
    buffer = ReplayBuffer(capacity, OBS, ACT)
    arrays = [
        getattr(buffer, f) for f in vars(buffer) if isinstance(getattr(buffer, f), np.ndarray)
    ]
    return sum(a.nbytes for a in arrays) / 2**20


def _write(dataset_id: str, steps: int) -> None:
    import gymnasium as gym

    from wsdiag.data.minari_io import Episode
    from wsdiag.data.minari_write import NewDataset

    rng = np.random.default_rng(0)
    episodes = []
    for k in range(steps // EPISODE):
        truncations = np.zeros(EPISODE, bool)
        truncations[-1] = True
        episodes.append(
            Episode(
                rng.standard_normal((EPISODE + 1, OBS), dtype=np.float32),
                rng.uniform(-1, 1, (EPISODE, ACT)).astype(np.float32),
                rng.standard_normal(EPISODE),
                np.zeros(EPISODE, bool),
                truncations,
                {"label": "expert", "seed": k},
            )
        )
    with NewDataset(dataset_id) as out:
        out.write(episodes, gym.spec("HalfCheetah-v5"), algorithm_name="bench")


def run(steps: int = 1_000_000) -> dict[str, Any]:
    """Buffer MB for 1M transitions; seconds to iterate vs to load a `steps`-step dataset."""
    import minari

    from wsdiag.data.offline import load_offline_data
    from wsdiag.envs import make_env

    out: dict[str, Any] = {"buffer_1M_halfcheetah_mb": buffer_megabytes()}
    old = os.environ.get("MINARI_DATASETS_PATH")
    with tempfile.TemporaryDirectory() as root:
        os.environ["MINARI_DATASETS_PATH"] = root
        try:
            _write("bench/halfcheetah/random-v0", steps)
            start = time.perf_counter()
            dataset = minari.load_dataset("bench/halfcheetah/random-v0")
            n = sum(len(ep.rewards) for ep in dataset.iterate_episodes())
            out["minari_iterate_s"] = time.perf_counter() - start
            start = time.perf_counter()
            data = load_offline_data(
                "bench/halfcheetah/random-v0", make_env("HalfCheetah-v5"), 0.99
            )
            buffer = data.to_buffer(seed=0)
            out["wsdiag_load_s"] = time.perf_counter() - start
            assert len(buffer) == n == steps
        finally:
            if old is None:
                del os.environ["MINARI_DATASETS_PATH"]
            else:
                os.environ["MINARI_DATASETS_PATH"] = old
    out["load_vs_iterate"] = out["wsdiag_load_s"] / out["minari_iterate_s"]
    out["steps"] = steps
    return out
