"""K short training runs as K parallel processes (1 thread each) versus one after another.

Each run is TD3 on Pendulum-v1 through wsdiag's real `Loop` (`random_steps` uniform-random steps,
then one update per env step), seeded differently. Parallel: K spawned processes with
`torch.set_num_threads(1)` start together. Sequential: the same K runs, one spawned process at a
time, with `threads` torch threads each. Wall times cover the training runs only: every process
imports and builds its env, agent and buffer first, then waits at a barrier with the parent, whose
clock starts when the barrier opens and stops when the last run has reported.
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from multiprocessing.synchronize import Barrier

ENV_ID = "Pendulum-v1"


def _train(
    seed: int, threads: int, steps: int, random_steps: int, barrier: Barrier, results: mp.Queue
) -> None:
    """Worker: build a TD3 run, wait at the barrier, run it, report (seed, seconds)."""
    import torch

    from benchmarks.common import training_loop

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        loop = training_loop("td3", ENV_ID, random_steps, steps, steps, seed, tmp)
        barrier.wait()
        start = time.perf_counter()
        loop.run()
        results.put((seed, time.perf_counter() - start))


def _launch(seeds: list[int], threads: int, steps: int, random_steps: int) -> tuple[float, dict]:
    """Run one process per seed at once; (wall seconds after the barrier, {seed: run seconds})."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(seeds) + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_train, args=(s, threads, steps, random_steps, barrier, results))
        for s in seeds
    ]
    for p in procs:
        p.start()
    barrier.wait(timeout=300)
    start = time.perf_counter()
    per_run = dict(results.get(timeout=1_800) for _ in seeds)
    wall = time.perf_counter() - start
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"benchmark worker exited with code {p.exitcode}")
    return wall, per_run


def run(
    runs: int = 2, steps: int = 3_000, random_steps: int = 500, threads: int = 2
) -> dict[str, object]:
    """Wall time of `runs` runs in parallel (1 thread each) vs sequential (`threads` each)."""
    seeds = list(range(runs))
    parallel_wall, parallel_runs = _launch(seeds, 1, steps, random_steps)
    sequential = [_launch([s], threads, steps, random_steps) for s in seeds]
    sequential_wall = sum(wall for wall, _ in sequential)
    return {
        "env": ENV_ID,
        "algo": "td3",
        "runs": runs,
        "steps_per_run": steps,
        "random_steps": random_steps,
        "sequential_threads": threads,
        "parallel_wall_s": parallel_wall,
        "parallel_run_s": [parallel_runs[s] for s in seeds],
        "sequential_wall_s": sequential_wall,
        "sequential_run_s": [next(iter(r.values())) for _, r in sequential],
        "speedup": sequential_wall / parallel_wall,
    }
