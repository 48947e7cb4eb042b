"""What `wsdiag diagnose --confirm` spares, side by side with `--full`, on finished runs.

    python -m examples.confirm_speed RUN [RUN ...] --out runs/confirm-speed --jobs 2
    python -m examples.confirm_speed runs/benchmark/*/runs/*-seed0 --causes all --jobs 2

Each run directory is copied twice under `--out` (its counterfactual folder left behind): one
copy is confirmed the default way (interventions that act only on policy updates branch from the
original's state there, every run stops at the original's recovery plus four evaluations, and an
intervention's run stops once its seed is decided), the other with `--full` (every run from the
pretrained agent to the run's end), on the same seeds, causes and `--jobs`. The table gives, per
run and mode, the environment steps the counterfactual runs took (the measure that does not
depend on the machine's load), the wall time, and each cause's decision, which must agree.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from rich.console import Console

from wsdiag.analysis.confirm import FOLDER, Confirmation
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.rundir import read_events
from wsdiag.sweep.confirm import confirm_run

MODES = {"default": False, "full": True}


def copy_run(run_dir: Path, to: Path) -> Path:
    """The run without its counterfactuals, at `to` (kept when there already)."""
    if not to.exists():
        shutil.copytree(run_dir, to, ignore=shutil.ignore_patterns(FOLDER))
    return to


def steps_taken(root: Path) -> int:
    """Environment steps of every counterfactual run under `root`: each run's last online
    step, less the step a branched run started from."""
    total = 0
    for run in sorted((root / FOLDER / "runs").glob("*")):
        events = read_events(run)
        end = next((e.get("step", 0) for e in reversed(events) if e.get("event") == "end"), 0)
        start = next((e.get("step", 0) for e in events if e.get("event") == "branched"), 0)
        total += int(end) - int(start)
    return total


def confirm(
    run_dir: Path, full: bool, causes: list[str] | None, jobs: int
) -> tuple[Confirmation, float]:
    start = time.perf_counter()
    result = confirm_run(run_dir, thresholds=Thresholds(), seeds=5, max_seeds=10, causes=causes,
                         interventions=None, jobs=jobs, backend="local", address=None, threads=1,
                         dry_run=False, console=Console(stderr=True), full=full)  # fmt: skip
    assert result is not None
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, nargs="+")
    p.add_argument("--out", type=Path, default=Path("runs/confirm-speed"))
    p.add_argument(
        "--causes",
        default="extrapolation,gradient,update,drift",
        help="comma-separated, or 'all': every cause with an applicable intervention",
    )
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    causes = None if args.causes == "all" else args.causes.split(",")
    print("| run | mode | env steps | wall s | decisions |")
    print("|---|---|---|---|---|")
    for run_dir in args.runs:
        for mode, full in MODES.items():
            copy = copy_run(run_dir, args.out / mode / run_dir.name)
            result, seconds = confirm(copy, full, causes, args.jobs)
            share = result.min_share
            decided = ", ".join(f"{i.cause} {i.outcome(share)}" for i in result.causes)
            print(f"| {run_dir.name} | {mode} | {steps_taken(copy):,} | {seconds:.0f} | "
                  f"{decided} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
