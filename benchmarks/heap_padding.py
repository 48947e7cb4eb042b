"""A real pretraining with glibc's default heap and with its top padded, side by side:
`python -m benchmarks.heap_padding [--algos cql calql td3bc td3 sac] [--steps 1000]
[--repeats 2]`.

Each repeat runs `wsdiag train --until pretrain` twice per algorithm in fresh processes, once
with `MALLOC_TOP_PAD_=0` (glibc's default heap; the command pads the heap itself otherwise:
`wsdiag.allocator.pad_heap_unless_set`) and once with it at 512 MiB, alternating which goes
first: offline algorithms on a dataset of 20,000 uniformly random Pendulum-v1 transitions
recorded once with `wsdiag data collect`, TD3 and SAC online on Pendulum-v1. Per run: wall
time, the process's user and system CPU time and its minor page faults (`getrusage` of the
child). CPU time and faults depend far less on other work on the machine than wall time does;
the summary gives each algorithm's ratio of CPU time (default / padded) per pair, and the best
of each side.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import load_average

DATASET = "wsdiag/pendulum/heap-padding-random-v0"
PADDED = str(512 << 20)
ONLINE = ("td3", "sac")  # pretrained online, on Pendulum-v1; the others offline
WSDIAG = [sys.executable, "-m", "wsdiag"]


def record_dataset(root: Path) -> None:
    """20,000 random Pendulum-v1 transitions, the offline data of every run."""
    env = dict(os.environ, MINARI_DATASETS_PATH=str(root))
    command = [*WSDIAG, "data", "collect", DATASET, "--policy", "random", "--env", "Pendulum-v1",
               "--steps", "20000", "--ref-max", "0"]  # fmt: skip
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def pretrain(root: Path, algo: str, steps: int, padded: bool) -> dict[str, Any]:
    """One offline pretraining in a fresh process; its wall, CPU time and page faults."""
    env = dict(os.environ, MINARI_DATASETS_PATH=str(root), OMP_NUM_THREADS="1")
    env["MALLOC_TOP_PAD_"] = PADDED if padded else "0"
    finetune = "sac" if algo in ("cql", "calql", "iql", "sac") else "td3"
    sets = {"pretrain.algo": f'"{algo}"', "threads": "1", "pretrain.steps": str(steps),
            "finetune.algo": f'"{finetune}"', "eval.every": "1000000"}  # fmt: skip
    if algo in ONLINE:  # on its own transitions, updates from the 100th step on
        sets |= {"pretrain.source": '"online"', "pretrain.learning_starts": "100"}
    else:
        sets |= {"pretrain.source": '"offline"', "pretrain.dataset": f'"{DATASET}"'}
    command = [*WSDIAG, "train", "wsdiag/configs/demo.toml", "--out", str(root / "runs"),
               "--until", "pretrain", "--quiet"]  # fmt: skip
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"algo": algo, "padded": padded, "wall_s": wall, "user_s": user, "sys_s": system,
            "cpu_s": user + system, "minor_faults": after.ru_minflt - before.ru_minflt,
            "load": load_average()}  # fmt: skip


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """Per algorithm: the best CPU and wall time of each side, the faults, and the CPU ratio of
    every alternating pair."""
    lines = ["| algorithm | CPU s default / padded (best) | ratio per pair | wall s (best) | "
             "system s | minor faults |", "|---|---|---|---|---|---|"]  # fmt: skip
    for algo in dict.fromkeys(r["algo"] for r in rows):
        side = {p: [r for r in rows if r["algo"] == algo and r["padded"] == p] for p in (0, 1)}
        pairs = [a["cpu_s"] / b["cpu_s"] for a, b in zip(side[0], side[1], strict=False)]
        best = {p: min(r["cpu_s"] for r in side[p]) for p in (0, 1)}
        wall = {p: min(r["wall_s"] for r in side[p]) for p in (0, 1)}
        sys_s = {p: max(r["sys_s"] for r in side[p]) for p in (0, 1)}
        faults = {p: max(r["minor_faults"] for r in side[p]) for p in (0, 1)}
        lines.append(
            f"| {algo} | {best[0]:.1f} / {best[1]:.1f} | "
            f"{', '.join(f'{x:.2f}' for x in pairs)} | {wall[0]:.1f} / {wall[1]:.1f} | "
            f"{sys_s[0]:.1f} / {sys_s[1]:.1f} | {faults[0]:,} / {faults[1]:,} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["cql", "calql", "td3bc"])
    p.add_argument("--steps", type=int, default=1000, help="gradient steps per pretraining")
    p.add_argument("--repeats", type=int, default=2, help="alternating pairs per algorithm")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        record_dataset(root)
        for k in range(args.repeats):
            for algo in args.algos:
                for padded in (False, True) if k % 2 == 0 else (True, False):
                    rows.append(pretrain(root, algo, args.steps, padded))
                    r = rows[-1]
                    side = "padded" if padded else "default"
                    print(f"{algo} {side}: cpu {r['cpu_s']:.1f} s (sys {r['sys_s']:.1f}), wall "
                          f"{r['wall_s']:.1f} s, {r['minor_faults']:,} faults, load "
                          f"{r['load']}", flush=True)  # fmt: skip
    print("\n".join(summary(rows)))


if __name__ == "__main__":
    main()
