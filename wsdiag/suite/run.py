"""Running a part of the suite: its sweep, then every finished run confirmed by counterfactual
runs (`wsdiag.sweep.confirm`), each experiment once. Everything is resumable: run it again to
continue.

Each run is confirmed on `seeds` seeds from its own (the run's seed and the next ones); with one
seed the share removed has no interval and share >= diagnose.confirm_share decides. With
`until_confirmed` the causes are tested in the chain's order up to the first confirmed one (the
same confirmed cause as testing every cause, at about the cost of one seed of every cause).
Confirmations run `jobs` at a time, one process and one job each: a run's confirmation comes in
stages of a few jobs with `until_confirmed`, so one run on `jobs` cores would leave cores idle
at each stage's end."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console

from wsdiag.analysis.run import load_run
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.errors import WsdiagError
from wsdiag.rundir import SWEEP_RUNS, is_complete
from wsdiag.suite.collect import experiment_key
from wsdiag.sweep.backends import make_backend
from wsdiag.sweep.confirm import confirm_run
from wsdiag.sweep.plan import build_plan
from wsdiag.sweep.progress import SweepProgress
from wsdiag.sweep.runner import run_plan
from wsdiag.sweep.spec import load_sweep
from wsdiag.sweep.state import FAILED


def run_sweep(suite: Path, out: Path, jobs: int, console: Console) -> Path:
    """Run the part's sweep file under `out` (its failed runs named, the others kept); its
    runs/ folder."""
    plan = build_plan(load_sweep(suite), out)
    progress = SweepProgress(console, jobs, {j.name: j.env_steps for j in plan.jobs})
    try:
        state = run_plan(plan, make_backend("local"), jobs=jobs, threads=1, progress=progress)
    finally:
        progress.close()
    for name in state.names(FAILED):
        console.print(f"failed {name}: {state.jobs[name]['error']}", soft_wrap=True)
    return plan.root / SWEEP_RUNS


def to_confirm(runs: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The finished runs with each experiment once (`collect.experiment_key`; a run without a
    key is kept), and (run, the earlier run of its experiment) for the others."""
    first: dict[str, Path] = {}
    kept, repeats = [], []
    for path in sorted(p for p in runs.iterdir() if is_complete(p)):
        key = experiment_key(load_run(path))
        if key is not None and key in first:
            repeats.append((path.name, first[key].name))
            continue
        kept.append(path)
        if key is not None:
            first[key] = path
    return kept, repeats


def confirm_one(run_dir: Path, seeds: int, until_confirmed: bool) -> str:
    """Confirm one run's diagnosis (as `wsdiag diagnose RUN --confirm`, one job); the line
    that says how it ended."""
    console = Console(stderr=True, force_terminal=False)
    thresholds = Thresholds()
    try:
        diagnosis = summarise(load_run(run_dir), thresholds).diagnosis
        if not diagnosis.significant:
            return f"{run_dir.name}: nothing to confirm (no significant degradation)"
        result = confirm_run(
            run_dir,
            thresholds=thresholds,
            seeds=seeds,
            causes=None,
            interventions=None,
            jobs=1,
            backend="local",
            address=None,
            threads=1,
            dry_run=False,
            console=console,
            until_confirmed=until_confirmed,
            verdict=diagnosis.causes[0].cause if diagnosis.causes else None,
        )
    except WsdiagError as e:
        return f"{run_dir.name}: not confirmed: {e}"
    return f"{run_dir.name}: {result.verdict() if result else 'not run'}"


def run_part(
    suite: Path,
    out: Path,
    jobs: int,
    seeds: int = 1,
    until_confirmed: bool = False,
    console: Console | None = None,
) -> Path:
    """Run the part's sweep, then confirm every finished run but the repeats of an earlier
    experiment (module docstring); the sweep's runs/ folder."""
    console = console or Console(stderr=True)
    runs = run_sweep(suite, out, jobs, console)
    kept, repeats = to_confirm(runs)
    for run, first in repeats:
        console.print(f"not confirmed: {run} is the same experiment as {first}", soft_wrap=True)
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        done = [pool.submit(confirm_one, p, seeds, until_confirmed) for p in kept]
        for future in done:
            console.print(future.result(), soft_wrap=True, highlight=False)
    return runs
