"""What recording a user's trainer costs: an SB3 TD3 `learn` on Pendulum-v1 with and without
`WsdiagCallback`, side by side at one torch thread, alternated, best of `repeats`.

    python -m benchmarks.integrations [--steps 4000] [--every 2000] [--repeats 3]

Three timings of the same fine-tune (same seed, same zip): plain; with the callback probing
every `every` steps but evaluating only at the end (the probes' own cost); with the callback at
its defaults (probes and 5-episode evaluations every `every` steps, as SB3's EvalCallback would
also cost). The overhead is (with - plain) / plain, start-up included (the run directory, the
behavioural rollouts, the baseline evaluation). Per probe call: the mean of the `time/probe_s`
rows the callback recorded, and its share of the training time of one interval.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from benchmarks.common import load_average, set_threads
from wsdiag.rundir import read_metrics

ENV_ID = "Pendulum-v1"
LEARNING_STARTS = 1_000


def _pretrained(folder: Path) -> Path:
    """A TD3 zip trained briefly (its quality does not matter for timing)."""
    from stable_baselines3 import TD3

    model = TD3("MlpPolicy", gym.make(ENV_ID), learning_starts=200, seed=0, device="cpu")
    model.learn(400)
    path = folder / "pretrained.zip"
    model.save(path)
    return path


def _fine_tune(zip_path: Path, steps: int, callback: Any) -> float:
    """Seconds of one `learn(steps)` from the zip."""
    from stable_baselines3 import TD3

    model = TD3.load(zip_path, env=gym.make(ENV_ID), device="cpu")
    model.learning_starts = LEARNING_STARTS
    start = time.perf_counter()
    model.learn(steps, callback=callback)
    return time.perf_counter() - start


def run(steps: int = 4_000, every: int = 2_000, repeats: int = 3) -> dict[str, Any]:
    """The three timings (best of `repeats`, alternated) and the overheads."""
    from wsdiag.integrations.sb3 import WsdiagCallback

    set_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="wsdiag-bench-"))
    try:
        zip_path = _pretrained(folder)
        settings = {
            "plain": None,
            "probes": {"probe_every": every, "eval_every": steps},
            "defaults": {"probe_every": every, "eval_every": every},
        }
        best = {name: float("inf") for name in settings}
        probe_s: list[float] = []
        for k in range(repeats):
            for name, kwargs in settings.items():
                run_dir = folder / f"{name}-{k}"
                callback = None if kwargs is None else WsdiagCallback(run_dir, zip_path, **kwargs)
                best[name] = min(best[name], _fine_tune(zip_path, steps, callback))
                if name == "probes":
                    metrics = read_metrics(run_dir)
                    probe_s += list(metrics[metrics.key == "time/probe_s"].value)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    plain = best["plain"]
    per_call = min(probe_s)  # the least disturbed call
    return {
        "steps": steps,
        "every": every,
        "seconds": best,
        "probe_overhead": (best["probes"] - plain) / plain,
        "default_overhead": (best["defaults"] - plain) / plain,
        "per_probe_call_s": per_call,
        "probe_calls": len(probe_s) // repeats,
        "train_s_per_interval": plain * every / steps,
        "probe_share": per_call / (plain * every / steps),
        "threads": torch.get_num_threads(),
        "load_average": load_average(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4_000)
    p.add_argument("--every", type=int, default=2_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    result = run(args.steps, args.every, args.repeats)
    s = result["seconds"]
    print(f"SB3 TD3 {ENV_ID}, {args.steps} steps, 1 thread, best of {args.repeats} "
          f"(load average {result['load_average']}):")  # fmt: skip
    print(f"  plain {s['plain']:.2f} s | callback, probes every {args.every} "
          f"{s['probes']:.2f} s ({100 * result['probe_overhead']:+.1f}%) | callback at its "
          f"defaults, evaluations too {s['defaults']:.2f} s "
          f"({100 * result['default_overhead']:+.1f}%)")  # fmt: skip
    print(f"  per probe call {result['per_probe_call_s']:.3f} s against "
          f"{result['train_s_per_interval']:.2f} s of training per {args.every} steps: "
          f"{100 * result['probe_share']:.1f}%")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
