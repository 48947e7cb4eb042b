"""The early warning's lead on a finer evaluation grid: each degrading run of the records is
trained again from its own config with evaluations every `--every` steps (evaluations run on
their own environment and change nothing of the training: the run's coarser evaluations and its
warning come out the same, which the script checks), and the lead is the start of the drop
on that grid minus the warning's step (`wsdiag.suite.metrics.drop_start`, `lead`).

    python -m examples.benchmark.lead examples/results/benchmark2/*.test.jsonl \
        --runs runs/benchmark2 --out runs/benchmark2-lead --every 100
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from wsdiag.analysis.diagnose import eval_curve
from wsdiag.analysis.run import Run, load_run
from wsdiag.errors import WsdiagError
from wsdiag.rundir import CONFIG_FILE, SWEEP_RUNS, is_complete
from wsdiag.suite.metrics import drop_start, lead
from wsdiag.suite.record import read_records


def fail(message: str) -> None:
    """One line on stderr, exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def rerun(original: Run, folder: Path, every: int) -> Run:
    """The run trained again under `folder` (its own) with evaluations every `every` steps; a
    finished one there is reused, an unfinished one trained anew beside it."""
    done = [p for p in sorted(folder.glob("*")) if p.is_dir() and is_complete(p)]
    if not done:
        config = str(original.path / CONFIG_FILE)
        sets = ["--set", f"eval.every={every}", "--set", "threads=1"]
        command = [sys.executable, "-m", "wsdiag", "train", config, "--out", str(folder), *sets]
        trained = subprocess.run(command, capture_output=True, text=True)
        if trained.returncode != 0:
            last = (trained.stderr.strip().splitlines() or ["(no output)"])[-1]
            fail(f"{original.path}: training it again failed: {last}")
        done = [p for p in sorted(folder.glob("*")) if p.is_dir() and is_complete(p)]
    return load_run(done[-1])


def measure(original: Run, finer: Run) -> tuple[int | None, int | None, int | None]:
    """(warning step, drop start on the finer grid, lead); fails if the finer run's training
    differs from the original's (other returns at the shared evaluation steps, another
    warning)."""
    steps, returns = eval_curve(finer.metrics)
    steps0, returns0 = eval_curve(original.metrics)
    shared = np.intersect1d(steps, steps0)
    same = np.allclose(returns[np.isin(steps, shared)], returns0[np.isin(steps0, shared)])
    if not same or finer.warning_step != original.warning_step or finer.baseline is None:
        fail(f"{finer.path}: its training differs from {original.path}'s")
    drop = drop_start(steps, returns, finer.baseline, start=finer.policy_start)
    return finer.warning_step, drop, lead(finer.warning_step, drop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", type=Path, help="the suite's records (JSONL)")
    parser.add_argument("--runs", type=Path, required=True, help="the suite's --out folder")
    parser.add_argument("--out", type=Path, required=True, help="where the runs train again")
    parser.add_argument("--every", type=int, default=100, help="evaluate every this many steps")
    args = parser.parse_args()
    if args.every < 1:
        parser.error("--every must be at least 1")
    leads = []
    print(f"| run | warning | drop starts (every {args.every} steps) | lead |")
    print("|---|---|---|---|")
    try:
        records = [r for path in args.records for r in read_records(path) if r.significant]
        for record in records:
            part, variant = record.run.split("/")
            original = load_run(args.runs / part / SWEEP_RUNS / variant)
            finer = rerun(original, args.out / part / variant, args.every)
            warned, drop, ahead = measure(original, finer)
            print(f"| {record.run} | {warned} | {drop} | {ahead} |")
            leads += [] if ahead is None else [ahead]
    except WsdiagError as e:
        fail(str(e))
    median = f"{np.median(leads):g}" if leads else "n/a"
    print(f"\nmedian lead over the {len(leads)} degrading runs warned: {median} steps")


if __name__ == "__main__":
    main()
