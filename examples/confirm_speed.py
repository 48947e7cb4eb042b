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

Each (run, mode) appends one JSON line to `<out>/confirm_speed.jsonl` when its confirmation
ends, and a rerun skips the pairs recorded there; a pair cut short starts again from nothing
(its wall time is one uninterrupted confirmation). The last lines total both modes: wall time
and steps per decided cause (a cause confirmed or refuted), and whether every decision agrees.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from wsdiag.analysis.confirm import (
    CONFIRMED,
    FOLDER,
    ORIGINAL,
    REFUTED,
    Confirmation,
    variant_and_seed,
)
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.errors import WsdiagError
from wsdiag.rundir import CONFIG_FILE, RETURN_BELOW, read_events
from wsdiag.sweep.confirm import check_confirm_options, confirm_run

MODES = {"default": False, "full": True}
RECORDS = "confirm_speed.jsonl"
NOT_TESTED = "not tested"  # no intervention applies to the run
ROLES = ("originals", "stopped once decided", "to the horizon")


def copy_name(run_dir: Path) -> str:
    """The run's name, after its suite part's for a run in a suite's `runs/` folder (two
    parts of a suite hold runs of the same name)."""
    if run_dir.parent.name == "runs":
        return f"{run_dir.parent.parent.name}-{run_dir.name}"
    return run_dir.name


def copy_run(run_dir: Path, to: Path) -> Path:
    """The run without its counterfactuals, at `to` (kept when there already)."""
    if not to.exists():
        shutil.copytree(run_dir, to, ignore=shutil.ignore_patterns(FOLDER))
    return to


def steps_by_role(root: Path) -> dict[str, int]:
    """Environment steps of the counterfactual runs under `root` (each run's last online step,
    less the step a branched run started from), by role: the originals' reruns, the
    interventions' runs stopped once their seed was decided against the cause (`return_below`),
    and those that ran to their horizon."""
    steps = dict.fromkeys(ROLES, 0)
    for run in sorted((root / FOLDER / "runs").glob("*")):
        events = read_events(run)
        end = next((e for e in reversed(events) if e.get("event") == "end"), {})
        start = next((e.get("step", 0) for e in events if e.get("event") == "branched"), 0)
        if variant_and_seed(run.name)[0] == ORIGINAL:
            role = ROLES[0]
        else:
            role = ROLES[1] if end.get("reason") == RETURN_BELOW else ROLES[2]
        steps[role] += int(end.get("step", 0)) - int(start)
    return steps


def steps_taken(root: Path) -> int:
    """Environment steps of every counterfactual run under `root` (`steps_by_role`)."""
    return sum(steps_by_role(root).values())


def confirm(
    run_dir: Path, full: bool, causes: list[str] | None, jobs: int
) -> tuple[Confirmation, float]:
    start = time.perf_counter()
    result = confirm_run(run_dir, thresholds=Thresholds(), seeds=5, max_seeds=10, causes=causes,
                         interventions=None, jobs=jobs, backend="local", address=None, threads=1,
                         dry_run=False, console=Console(stderr=True), full=full)  # fmt: skip
    assert result is not None
    return result, time.perf_counter() - start


def record(run_dir: Path, mode: str, copy: Path, causes: list[str] | None, jobs: int) -> dict:
    """Confirm `copy` in `mode` and describe it: steps, wall s, the decisions."""
    result, seconds = confirm(copy, MODES[mode], causes, jobs)
    share = result.min_share
    decisions = {i.cause: i.outcome(share) or NOT_TESTED for i in result.causes}
    return {"run": str(run_dir), "name": copy.name, "mode": mode, "jobs": jobs,
            "steps": steps_taken(copy), "wall_s": round(seconds, 1),
            "decisions": decisions}  # fmt: skip


def decided(line: dict[str, Any]) -> int:
    """Causes the confirmation decided: confirmed or refuted (not inconclusive, not run)."""
    return sum(o in (CONFIRMED, REFUTED) for o in line["decisions"].values())


def ratio_interval(
    full: list[float], default: list[float], n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of sum(full) / sum(default), the runs resampled (the
    spread between runs; each run's times are one measurement)."""
    f, d = np.asarray(full, float), np.asarray(default, float)
    idx = np.random.default_rng(seed).integers(0, len(f), size=(n_resamples, len(f)))
    ratios = f[idx].sum(axis=1) / d[idx].sum(axis=1)
    low, high = np.quantile(ratios, [0.025, 0.975])
    return float(low), float(high)


def totals(lines: list[dict[str, Any]], out: Path | None = None) -> list[str]:
    """Table rows totalling each mode over the runs recorded in both, and the ratio; with
    `out`, each mode's steps by role, read from its copies there (`steps_by_role`)."""
    by = {(ln["name"], ln["mode"]): ln for ln in lines}
    names = sorted({n for n, m in by if all((n, k) in by for k in MODES)})
    rows, per, breakdown = [], {}, []
    for mode in MODES:
        picked = [by[(n, mode)] for n in names]
        steps, wall = sum(p["steps"] for p in picked), sum(p["wall_s"] for p in picked)
        causes = sum(decided(p) for p in picked)
        per[mode] = (steps / max(causes, 1), wall / max(causes, 1))
        rows.append(f"| all {len(names)} | {mode} | {steps:,} | {wall:.0f} | "
                    f"{causes} causes decided |")  # fmt: skip
        if out is not None:
            roles = [steps_by_role(out / mode / n) for n in names]
            parts = ", ".join(f"{r} {sum(x[r] for x in roles):,}" for r in ROLES)
            breakdown.append(f"{mode} steps by role: {parts}")
    same = all(by[(n, "default")]["decisions"] == by[(n, "full")]["decisions"] for n in names)
    (ds, dw), (fs, fw) = per["default"], per["full"]
    walls = [[by[(n, m)]["wall_s"] for n in names] for m in ("full", "default")]
    low, high = ratio_interval(*walls) if len(names) > 1 else (float("nan"),) * 2
    rows.append(f"\nper decided cause: {dw:.0f} s against {fw:.0f} s ({fw / dw:.2f}x less wall "
                f"time, [{low:.2f}, {high:.2f}] over the runs), {ds:,.0f} against {fs:,.0f} "
                f"steps ({fs / ds:.2f}x fewer); decisions "
                f"{'the same on every run' if same else 'DIFFER'}")  # fmt: skip
    return rows + breakdown


def row(line: dict[str, Any]) -> str:
    decisions = ", ".join(f"{c} {o}" for c, o in line["decisions"].items())
    return (f"| {line['name']} | {line['mode']} | {line['steps']:,} | {line['wall_s']:.0f} | "
            f"{decisions} |")  # fmt: skip


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
    missing = [str(r) for r in args.runs if not (r / CONFIG_FILE).is_file()]
    if missing:
        p.error(f"not a run directory (no {CONFIG_FILE}): {', '.join(missing)}")
    causes = None if args.causes == "all" else args.causes.split(",")
    try:  # the confirmation's own checks, before any copy is made
        check_confirm_options(causes, seeds=5, jobs=args.jobs, threads=1)
    except WsdiagError as error:
        p.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    records = args.out / RECORDS
    lines = [json.loads(s) for s in records.read_text().splitlines()] if records.exists() else []
    print("| run | mode | env steps | wall s | decisions |")
    print("|---|---|---|---|---|")
    for line in lines:
        print(row(line), flush=True)
    done = {(ln["name"], ln["mode"]) for ln in lines}
    for run_dir in args.runs:
        for mode in MODES:
            copy = copy_run(run_dir, args.out / mode / copy_name(run_dir))
            if (copy.name, mode) in done:
                continue
            shutil.rmtree(copy / FOLDER, ignore_errors=True)  # a pair cut short starts again
            try:
                line = record(run_dir, mode, copy, causes, args.jobs)
            except WsdiagError as error:  # recorded pairs stay; a rerun continues from them
                p.exit(2, f"{p.prog}: {copy.name} ({mode}): {error}\n")
            with records.open("a") as fh:
                fh.write(json.dumps(line) + "\n")
            lines.append(line)
            print(row(line), flush=True)
    print("\n".join(totals(lines, args.out)))


if __name__ == "__main__":
    main()
