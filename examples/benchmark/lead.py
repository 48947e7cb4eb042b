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
from wsdiag.analysis.run import load_run
from wsdiag.rundir import CONFIG_FILE, SWEEP_RUNS
from wsdiag.suite.metrics import drop_start, lead
from wsdiag.suite.record import read_records


def rerun(run_dir: Path, out: Path, every: int) -> Path:
    """The run trained again into `out` with evaluations every `every` steps (reused if done)."""
    name = f"{run_dir.parent.parent.name}_{run_dir.name}"
    target = out / f"{name}-seed{load_run(run_dir).config.seed}"
    if not (target / "metrics.parquet").is_file():
        command = [sys.executable, "-m", "wsdiag", "train", str(run_dir / CONFIG_FILE),
                   "--out", str(out), "--set", f'name="{name}"', "--set", f"eval.every={every}",
                   "--set", "threads=1"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
    return target


def warning_step(run_dir: Path) -> int | None:
    raised = load_run(run_dir).collapse_warning
    return None if raised is None else int(raised["step"])


def measure(original: Path, finer: Path) -> tuple[int | None, int | None, int | None]:
    """(warning step, drop start on the finer grid, lead); fails if the finer run's training
    differs from the original's (other returns at the shared evaluation steps, another
    warning)."""
    run, base = load_run(finer), load_run(original)
    steps, returns = eval_curve(run.metrics)
    steps0, returns0 = eval_curve(base.metrics)
    shared = np.intersect1d(steps, steps0)
    same = np.allclose(returns[np.isin(steps, shared)], returns0[np.isin(steps0, shared)])
    warned = warning_step(finer)
    if not same or warned != warning_step(original):
        raise SystemExit(f"{finer}: its training differs from {original}'s")
    r0 = float(run.metrics[run.metrics.key == "eval/baseline_return"].value.iloc[0])
    drop = drop_start(steps, returns, r0, start=run.policy_start)
    return warned, drop, lead(warned, drop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", type=Path)
    parser.add_argument("--runs", type=Path, required=True, help="the suite's --out folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--every", type=int, default=100)
    args = parser.parse_args()
    leads = []
    print(f"| run | warning | drop starts (every {args.every} steps) | lead |")
    print("|---|---|---|---|")
    for record in (r for path in args.records for r in read_records(path) if r.significant):
        part, variant = record.run.split("/")
        original = args.runs / part / SWEEP_RUNS / variant
        warned, drop, ahead = measure(original, rerun(original, args.out, args.every))
        print(f"| {record.run} | {warned} | {drop} | {ahead} |")
        leads += [] if ahead is None else [ahead]
    median = f"{np.median(leads):g}" if leads else "n/a"
    print(f"\nmedian lead over the {len(leads)} degrading runs warned: {median} steps")


if __name__ == "__main__":
    main()
