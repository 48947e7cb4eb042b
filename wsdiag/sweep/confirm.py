"""`wsdiag diagnose --confirm`: run the counterfactual sweep, measure each intervention's share
of the dip (wsdiag.analysis.confirm), save it and draw the curves beside the original.

With `until_confirmed` the causes are tested one at a time in `PRIORITY` order (the originals'
extra seeds with the first) and testing stops at the first confirmed one. The confirmed cause
is the earliest confirmed one in `PRIORITY`, so it is the one testing every cause would name;
the causes after it are not run, but for the verdict's own (`verdict`): the confirmation
confirms or refutes the verdict as well as naming the truth.

With `strengths = "all"` a cause is tested at every strength its entry lists, each a variant
of its own on the same seeds, paired with the same originals, its sign test at ALPHA / m for m
strengths of the cause tested (Bonferroni); the cause is confirmed if any strength is, refuted
if every one is (`wsdiag.analysis.confirm.combined`). Its strengths get seeds together; once one
confirms, the others stop (the cause's outcome is decided). The default, "first", tests each
cause at its entry's first strength: the runs and their cost are those of earlier versions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console

from wsdiag.analysis.confirm import (
    CONFIRMED,
    CONTROL,
    FIRST_SEEDS,
    INCONCLUSIVE,
    MAX_SEEDS,
    PRIORITY,
    Confirmation,
    Intervention,
    combined,
    counterfactual_name,
    share_removed,
    title,
    variant_and_seed,
)
from wsdiag.analysis.degradation import degradation
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.sign_test import ALPHA
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.config import replace
from wsdiag.core import ONLINE_PHASES
from wsdiag.errors import WsdiagError
from wsdiag.report.counterfactual import FIGURE_FILE as FIGURE
from wsdiag.report.counterfactual import plot_counterfactual
from wsdiag.rundir import RETURN_BELOW, is_complete, read_metrics
from wsdiag.sweep.backends import BACKENDS, make_backend
from wsdiag.sweep.counterfactual import (
    FIRST,
    MARGIN_EVALS,
    ORIGINAL,
    Candidate,
    branches,
    horizon_of,
    jobs_of,
    load_interventions,
    plan_counterfactuals,
    recorded_probes,
    run_dir_of,
    seeds_of,
    which_strengths,
)
from wsdiag.sweep.estimate import plan_seconds, rate_seconds, recorded_rate
from wsdiag.sweep.plan import Job, SweepPlan
from wsdiag.sweep.progress import SweepProgress, human_duration
from wsdiag.sweep.runner import run_plan


def _finished(run_dir: Path) -> Run | None:
    return load_run(run_dir) if is_complete(run_dir) else None


def _dip(run: Run | None, horizon: int | None) -> float | None:
    """The dip of a finished run (None: not finished) over its first `horizon` steps after its
    policy start (all of them with None)."""
    if run is None:
        return None
    steps, returns = run.series("eval/return")
    end = np.inf if horizon is None else run.policy_start + horizon
    keep = (steps >= run.policy_start) & (steps <= end)
    if run.baseline is None or not keep.any():
        return None
    return degradation(steps[keep], returns[keep], run.baseline, start=run.policy_start).dip


def decided_below(original: Path, horizon: int | None, min_share: float) -> float | None:
    """The return below which a counterfactual of this original's seed is decided: R0 - (1 -
    c) D, with D the original's dip over the horizon and c = `min_share`. An evaluation below
    it makes the counterfactual's dip D' > (1 - c) D, so its share 1 - D'/D < c whatever comes
    after (a lower return only deepens D'). The counterfactual's R0 is the original's: the same
    pretrained policy evaluated on the same start states. None where the original did not dip
    (such a seed does not count in the test) or has no baseline."""
    run = _finished(original)
    dip = _dip(run, horizon)
    if run is None or dip is None or dip <= 0 or run.baseline is None:
        return None
    return run.baseline - (1.0 - min_share) * dip


def stop_when_decided(
    part: SweepPlan, original: Path, horizon: int | None, min_share: float
) -> tuple[SweepPlan, Callable[[Job], Job]]:
    """The part with each intervention job waiting for its seed's original (where that is a
    job of the part) and set to stop at the first evaluation that decides its seed against the
    cause (`eval.stop_below = decided_below(...)`) where the original has finished, and the
    function that sets it as the job starts (`run_plan`'s `on_start`) where it had not: the
    originals and the interventions then share the workers, with none waiting for the last
    original of a round. The originals and the no-op control (whose start states differ) run
    as they are."""
    originals = {j.name for j in part.jobs if variant_and_seed(j.name)[0] == ORIGINAL}
    thresholds: dict[int, float | None] = {}  # seed -> its threshold, once its original ended

    def stop(job: Job) -> Job:
        variant, seed = variant_and_seed(job.name)
        if variant in (ORIGINAL, CONTROL):
            return job
        if seed not in thresholds:
            source = run_dir_of(part, original, ORIGINAL, seed)
            if not is_complete(source):
                return job  # its threshold is set as it starts, the original then finished
            thresholds[seed] = decided_below(source, horizon, min_share)
        below = thresholds[seed]
        if below is None or job.config.eval.stop_below == below:
            return job
        return dataclasses.replace(job, config=replace(job.config, eval={"stop_below": below}))

    jobs = []
    for job in part.jobs:
        variant, seed = variant_and_seed(job.name)
        waits = counterfactual_name(ORIGINAL, seed)
        if variant not in (ORIGINAL, CONTROL) and waits in originals and waits not in job.deps:
            job = dataclasses.replace(job, deps=(*job.deps, waits))
        jobs.append(stop(job))
    return SweepPlan(part.spec, part.root, jobs), stop


def measure(
    plan: SweepPlan,
    original: Path,
    candidate: Candidate,
    looks: tuple[int, int] = (FIRST_SEEDS, MAX_SEEDS),
    horizon: int | None = None,
    alpha: float = ALPHA,
) -> Intervention:
    """Dips of the original and of one intervention (its variant: one strength) per seed of
    `plan`; the share removed, judged by the sign test looked at from `looks[0]` to `looks[1]`
    seeds at the sequence error `alpha`; dips over the `horizon` the runs were cut at."""
    cause, label, overrides = candidate.cause, candidate.label, candidate.overrides
    named = {"variant": candidate.variant, "alpha": alpha}
    pairs, stopped = [], []
    for seed in plan.spec.seeds:
        before = _dip(_finished(run_dir_of(plan, original, ORIGINAL, seed)), horizon)
        ran = _finished(run_dir_of(plan, original, candidate.variant, seed))
        after = _dip(ran, horizon)
        if ran is not None and before is not None and after is not None:
            pairs.append((seed, before, after))
            if any(e.get("event") == RETURN_BELOW for e in ran.events):
                stopped.append(seed)
    if not pairs:
        return Intervention(cause, label, overrides, [], [], [], skipped="no finished run",
                            **named)  # fmt: skip
    seeds, d, d2 = (list(x) for x in zip(*pairs, strict=True))
    share = share_removed(d, d2)
    return Intervention(cause, label, overrides, seeds, d, d2, share, looks=looks,
                        stopped=stopped, **named)  # fmt: skip


def draw(plan: SweepPlan, original: Path, items: list[Intervention]) -> Path:
    """The original's learning curves beside each intervention's (seeds pooled per variant)."""
    return plot_counterfactual(original, items, plan.spec.seeds, plan.root / FIGURE)


def check_confirm_options(
    causes: list[str] | None,
    seeds: int,
    jobs: int,
    threads: int,
    backend: str = "local",
    interventions: Path | None = None,
    strengths: str = FIRST,
) -> None:
    """Refuse bad --causes, --seeds, --jobs, --threads, --backend, --interventions and
    --strengths before anything is printed or run."""
    if backend not in BACKENDS:
        raise WsdiagError(f"--backend must be one of {', '.join(BACKENDS)}, got '{backend}'")
    which_strengths(strengths)
    load_interventions(interventions)
    unknown = sorted(set(causes or []) - set(PRIORITY))
    if unknown:
        raise WsdiagError(f"unknown cause '{unknown[0]}' (known: {', '.join(PRIORITY)})")
    if seeds < 1:
        raise WsdiagError("--seeds must be >= 1")
    if jobs < 1 or threads < 1:
        raise WsdiagError("--jobs and --threads must be >= 1")


def soonest(job: Job) -> Job:
    """The job as short as a stop once decided can make it: an intervention's run (not an
    original's, not the no-op control's) ended at the first evaluation after its policy start,
    where its seed can first be decided against the cause."""
    if variant_and_seed(job.name)[0] in (ORIGINAL, CONTROL):
        return job
    config = job.config
    end = min(config.finetune.steps, config.warmstart.warmup_steps + config.eval.every)
    return dataclasses.replace(job, config=replace(config, finetune={"steps": end}))


def cost_line(run_dir: Path, plan: SweepPlan, jobs: int, threads: int) -> str:
    """'about 5 to 12 min with --jobs 2 (...)': the plan's wall time at the step rate the original
    run recorded on its online stage, else from a calibration on this machine; from every
    intervention's run stopped at its first evaluation after the policy start (`soonest`) to
    every run at its horizon."""
    rate = recorded_rate(read_metrics(run_dir), ONLINE_PHASES)
    originals = [j for j in plan.jobs if variant_and_seed(j.name)[0] == ORIGINAL]
    costs: dict = {}  # each setting calibrated once for both ends of the range

    def seconds(planned: list[Job]) -> float:
        if rate is not None and originals:  # each intervention's cost against the original's
            anchor = (originals[0].name, originals[0].env_steps / rate)
            return plan_seconds(planned, jobs, threads, anchor, costs)
        if rate is not None:
            return rate_seconds(planned, rate, jobs)
        return plan_seconds(planned, jobs, threads, costs=costs)

    longest, shortest = seconds(plan.jobs), seconds([soonest(j) for j in plan.jobs])
    if rate is None:
        how = "timed on this machine"
    else:
        how = f"at the {rate:.0f} steps/s it ran at"
        how += ", each intervention timed against it here" if originals else ""
    span = human_duration(longest)
    if human_duration(shortest) != span:
        span = f"{human_duration(shortest)} to {span}"
    return (
        f"about {span} with --jobs {jobs} ({how}; the shorter if every intervention's runs "
        "stop at their first evaluation, the longer if none stops before its horizon)"
    )


def _run_jobs(plan: SweepPlan, backend: str, address: str | None, jobs: int, threads: int,
              console: Console, on_start: Callable[[Job], Job] | None = None) -> None:  # fmt: skip
    """Run what is left of `plan` with a progress display, the runs that failed before again
    (rerunning `--confirm` is how one continues); name the failed runs and refuse to measure
    with them missing."""
    if not plan.jobs:
        return
    progress = SweepProgress(console, jobs, {j.name: j.env_steps for j in plan.jobs})
    try:
        state = run_plan(plan, make_backend(backend, address), jobs=jobs, threads=threads,
                         retry_failed=True, progress=progress, on_start=on_start)  # fmt: skip
    finally:
        progress.close()
    failed = sorted({j.name for j in plan.jobs} & set(state.names("failed")))
    for name in failed:
        console.print(f"[red]failed[/] {name}: {state.jobs[name]['error']}", soft_wrap=True)
    if failed:
        first = state.jobs[failed[0]]["error"]
        raise WsdiagError(
            f"{len(failed)} counterfactual run(s) failed ({failed[0]}: {first}); the finished "
            f"ones are kept: fix the cause and rerun to retry the others (logs: "
            f"{plan.root / 'logs'})"
        )


def confirm_run(
    run_dir: Path,
    *,
    thresholds: Thresholds,
    seeds: int,
    causes: list[str] | None,
    interventions: Path | None,
    jobs: int,
    backend: str,
    address: str | None,
    threads: int,
    dry_run: bool,
    console: Console,
    until_confirmed: bool = False,
    verdict: str | None = None,
    max_seeds: int | None = None,
    full: bool = False,
    control: bool = False,
    strengths: str = FIRST,
) -> Confirmation | None:
    """Plan, run (resumable) and measure the counterfactuals; None with `dry_run`. Each
    intervention starts on `seeds` seeds and gets more, up to `max_seeds`, while its sign test
    is undecided and could still decide by then (`wsdiag.analysis.confirm`, `decidable`): a
    round adds a seed per job, and the test looks at one seed more at a time as if each had
    run alone (the same decisions, with every worker busy). With `until_confirmed`, cause by
    cause in `PRIORITY` order up to the first confirmed one, and the `verdict`'s cause after
    it. `full` runs every counterfactual from the pretrained agent to the run's end (neither
    branched nor cut nor stopped once decided, with probes: the earlier way, for comparison);
    otherwise the runs record no probes, unless the runs already there do (`recorded_probes`).
    `control` adds the no-op control (`plan_counterfactuals`); `causes = []` tests no cause (the
    control alone). `strengths`: "first" tests each cause's entry at its first strength, "all"
    at each (module docstring). In a round each intervention's run starts once its seed's
    original has finished, and stops at the first evaluation that decides its seed against
    the cause (`stop_when_decided`)."""
    last = max(seeds, max_seeds or MAX_SEEDS)
    check_confirm_options(causes, seeds, jobs, threads, backend, interventions, strengths)
    order = [c for c in PRIORITY if c in set(PRIORITY if causes is None else causes)]
    run = load_run(run_dir)
    own = summarise(run, thresholds).diagnosis.degradation
    horizon = None if full else horizon_of(own, run.policy_start, run.config.eval.every)
    probes = full or recorded_probes(run_dir)
    plan, candidates = plan_counterfactuals(run_dir, seeds=last, causes=order,
                                            interventions=interventions, threads=threads,
                                            horizon=horizon, branch=not full, control=control,
                                            strengths=strengths, probes=probes)  # fmt: skip
    start = seeds_of(plan, seeds)
    if dry_run:
        for c in candidates:
            what = f"not tested ({c.skipped})" if c.skipped else f"{c.label}: {c.overrides}"
            if not c.skipped and not full and branches(c.overrides):
                what += " (from the original's state where its policy updates begin)"
            console.print(f"{c.variant}: {what}", soft_wrap=True, highlight=False)
    most = "at most " if until_confirmed else ""
    if horizon is not None:
        console.print(f"each run stops {horizon} steps after its policy start (the run's recovery "
                      f"and {MARGIN_EVALS} evaluations)", soft_wrap=True)  # fmt: skip
    console.print(f"{most}{len(start.jobs)} run(s) on {seeds} seeds under {plan.root}, "
                  f"{cost_line(run_dir, start, jobs, threads)}; up to {len(plan.jobs)} on "
                  f"{last} seeds while a test is undecided", soft_wrap=True)  # fmt: skip
    if dry_run:
        return None
    tested = [c for c in candidates if not c.skipped]
    by_cause: dict[str, list[Candidate]] = {}
    for c in tested:
        by_cause.setdefault(c.cause, []).append(c)
    measured: dict[str, Intervention] = {}  # by variant
    share = thresholds.confirm_share

    def outcome_of(cause: str) -> str:
        """The cause's combined outcome over its strengths measured so far."""
        done = [measured[c.variant] for c in by_cause[cause] if c.variant in measured]
        return combined([str(i.outcome(share)) for i in done])

    first: str | None = None
    for group in list(by_cause.values()) if until_confirmed else [tested]:
        if first is not None and group[0].cause not in (verdict, CONTROL):
            continue
        undecided, looked, n = group, 0, seeds
        while undecided:
            part = seeds_of(jobs_of(plan, {ORIGINAL, *(c.variant for c in undecided)}), n)
            on_start = None
            if not full:  # each intervention after its seed's original, whose dip decides it
                part, on_start = stop_when_decided(part, run_dir, horizon, share)
            _run_jobs(part, backend, address, jobs, threads, console, on_start)
            for look in range(max(looked + 1, seeds), n + 1):  # one seed at a time, as if
                at = seeds_of(part, look)  # each had been run alone: the same decisions
                for c in undecided:
                    alpha = ALPHA / len(by_cause[c.cause])  # Bonferroni over the strengths
                    measured[c.variant] = measure(at, run_dir, c, (seeds, last), horizon, alpha)
                undecided = [c for c in undecided
                             if measured[c.variant].outcome(share) == INCONCLUSIVE
                             and measured[c.variant].decidable(share, last - look)
                             and outcome_of(c.cause) != CONFIRMED]  # fmt: skip
                if not undecided:
                    break
            looked = n
            if n >= last:
                break
            n = min(last, n + jobs)  # a seed per worker: the next round keeps them all busy
        if until_confirmed and first is None and outcome_of(group[0].cause) == CONFIRMED:
            first = group[0].cause
    items = [measured.get(c.variant) or _not_run(c, first) for c in candidates]
    result = Confirmation(items, share, horizon)
    result.save(plan.root)
    draw(plan, run_dir, [i for i in items if not i.skipped])
    console.print(f"confirmation: {plan.root / 'confirmation.json'}, {plan.root / FIGURE}",
                  soft_wrap=True)  # fmt: skip
    return result


def _not_run(candidate: Candidate, first: str | None) -> Intervention:
    why = candidate.skipped or f"not run: {title(first or candidate.cause)} was confirmed first"
    return Intervention(candidate.cause, candidate.label, {}, [], [], [], skipped=why,
                        variant=candidate.variant)  # fmt: skip
