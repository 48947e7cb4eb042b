"""Running a part of the suite: its sweep, then every finished run confirmed by counterfactual
runs (`wsdiag.sweep.confirm`), each experiment once. Everything is resumable: run it again to
continue.

Each run is confirmed on `seeds` seeds from its own (the run's seed and the next ones); with one
seed the share removed has no interval and share >= diagnose.confirm_share decides. With
`until_confirmed` the causes are tested in the chain's order up to the first confirmed one (the
same confirmed cause as testing every cause, at about the cost of one seed of every cause).
Confirmations run `jobs` at a time, one process and one job each (with fewer runs than jobs,
each run's confirmation runs jobs // runs of its own at a time): a run's confirmation comes in
stages of a few jobs with `until_confirmed`, so one run on `jobs` cores would leave cores idle
at each stage's end. `strengths = "all"` tests each cause at every strength of its intervention
(`wsdiag.sweep.confirm`); the default, "first", at its first."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Collection
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from wsdiag.analysis.run import load_run
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.errors import WsdiagError
from wsdiag.rundir import SWEEP_RUNS, is_complete
from wsdiag.suite.collect import experiment_key
from wsdiag.suite.scenarios import scenario
from wsdiag.sweep.backends import make_backend
from wsdiag.sweep.confirm import confirm_run
from wsdiag.sweep.counterfactual import FIRST
from wsdiag.sweep.plan import build_plan, check_given_agents
from wsdiag.sweep.progress import SweepProgress
from wsdiag.sweep.runner import run_plan
from wsdiag.sweep.spec import SweepSpec, load_sweep
from wsdiag.sweep.state import FAILED


def only(spec: SweepSpec, variants: Collection[str] | None) -> SweepSpec:
    """The sweep with only the named variants (all of them for None); a sweep with a grid is
    refused, its runs being no variant's alone."""
    if variants is None:
        return spec
    if spec.grid:
        raise WsdiagError(f"{spec.path}: a split names variants, and this sweep has a [grid]")
    return replace(spec, variants=tuple(v for v in spec.variants if v.name in variants))


def of_variants(variants: Collection[str] | None) -> Callable[[str], bool] | None:
    """Whether a run ('name-seed0') is one of `variants` (None: every run is)."""
    if variants is None:
        return None
    return lambda run: scenario(run) in variants


def run_sweep(
    suite: Path, out: Path, jobs: int, console: Console, variants: Collection[str] | None = None
) -> Path:
    """Run the part's sweep file under `out` (its failed runs named, the others kept), only
    `variants` when given; its runs/ folder."""
    plan = build_plan(only(load_sweep(suite), variants), out)
    check_given_agents(plan)
    progress = SweepProgress(console, jobs, {j.name: j.env_steps for j in plan.jobs})
    try:
        state = run_plan(plan, make_backend("local"), jobs=jobs, threads=1, progress=progress)
    finally:
        progress.close()
    for name in state.names(FAILED):
        console.print(f"failed {name}: {state.jobs[name]['error']}", soft_wrap=True)
    return plan.root / SWEEP_RUNS


def to_confirm(
    runs: Path, keep: Callable[[str], bool] | None = None
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The finished runs (those `keep` keeps) with each experiment once
    (`collect.experiment_key`; a run without a key is kept), and (run, the earlier run of its
    experiment) for the others."""
    first: dict[str, Path] = {}
    kept, repeats = [], []
    done = (p for p in runs.iterdir() if is_complete(p) and (keep is None or keep(p.name)))
    for path in sorted(done):
        key = experiment_key(load_run(path))
        if key is not None and key in first:
            repeats.append((path.name, first[key].name))
            continue
        kept.append(path)
        if key is not None:
            first[key] = path
    return kept, repeats


def first_degrading(runs: list[Path]) -> tuple[list[Path], list[str]]:
    """Per scenario, the first of its runs (by name) with a significant dip, the one whose
    confirmation on its seeds gives the scenario's truth (`collect.scenario_confirmations`);
    and the scenarios of which no run degrades (every run's truth "none")."""
    chosen: dict[str, Path | None] = {}
    thresholds = Thresholds()
    for path in sorted(runs):
        name = scenario(path.name)
        if chosen.get(name) is None and summarise(load_run(path), thresholds).diagnosis.significant:
            chosen[name] = path
        chosen.setdefault(name, None)
    return [p for p in chosen.values() if p], [n for n, p in chosen.items() if p is None]


def confirm_one(
    run_dir: Path,
    seeds: int,
    until_confirmed: bool,
    control: bool = False,
    jobs: int = 1,
    strengths: str = FIRST,
    max_seeds: int | None = None,
) -> str:
    """Confirm one run's diagnosis (as `wsdiag diagnose RUN --confirm`, `jobs` at a time; with
    `control`, the no-op control too; each cause at its first strength or every one,
    `strengths`; seeds added up to `max_seeds`, default MAX_SEEDS, while undecided); the line
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
            jobs=jobs,
            backend="local",
            address=None,
            threads=1,
            dry_run=False,
            console=console,
            until_confirmed=until_confirmed,
            verdict=diagnosis.causes[0].cause if diagnosis.causes else None,
            control=control,
            strengths=strengths,
            max_seeds=max_seeds,
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
    variants: Collection[str] | None = None,
    control: bool = False,
    by_scenario: bool = False,
    strengths: str = FIRST,
    max_seeds: int | None = None,
) -> Path:
    """Run the part's sweep (only `variants`, when given), then confirm every finished run of
    it but the repeats of an earlier experiment (module docstring; with `control`, the no-op
    control too; each cause at `strengths`, seeds up to `max_seeds`), or with `by_scenario` the
    first degrading run of each scenario alone (`first_degrading`); the sweep's runs/ folder."""
    console = console or Console(stderr=True)
    runs = run_sweep(suite, out, jobs, console, variants)
    kept, repeats = to_confirm(runs, of_variants(variants))
    for run, first in repeats:
        console.print(f"not confirmed: {run} is the same experiment as {first}", soft_wrap=True)
    if by_scenario:
        kept, calm = first_degrading(kept)
        for name in calm:
            console.print(f"{name}: no run degrades significantly (truth: none)", soft_wrap=True)
    each = max(1, jobs // max(1, len(kept)))  # fewer runs than jobs: each confirms in parallel
    with ProcessPoolExecutor(max(1, jobs // each), mp_context=mp.get_context("spawn")) as pool:
        done = [pool.submit(confirm_one, p, seeds, until_confirmed, control, each, strengths,
                            max_seeds) for p in kept]  # fmt: skip
        for future in done:
            console.print(future.result(), soft_wrap=True, highlight=False)
    return runs
