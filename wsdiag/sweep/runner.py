"""Running a plan as a dependency graph: a fine-tune waits for its pretraining; at most `jobs`
at a time; a failed job is recorded with its error and the others go on (its fine-tunes fail
with it). Every state change is written to sweep.json at once."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wsdiag.config import dump_config
from wsdiag.rundir import read_events
from wsdiag.sweep.backends import Backend
from wsdiag.sweep.plan import PRETRAIN, Job, SweepPlan
from wsdiag.sweep.state import DONE, FAILED, QUEUED, RUNNING, SweepState, finished_on_disk


def write_job_files(plan: SweepPlan) -> dict[str, Path]:
    """<root>/jobs/<name>.toml (the resolved config) and .json (what the worker reads: the run
    directory, the config, `until`, the job's lock file under <root>/locks/)."""
    return {job.name: write_job_file(plan.root, job) for job in plan.jobs}


def write_job_file(root: Path, job: Job) -> Path:
    """One job's files under `root` (`write_job_files`); the path of its .json."""
    folder, locks = root / "jobs", root / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    locks.mkdir(exist_ok=True)
    config = folder / f"{job.name}.toml"
    config.write_text(dump_config(job.config))
    spec = {"run_dir": str(job.run_dir), "config": str(config)}
    spec["lock"] = str(locks / f"{job.name}.lock")
    spec["until"] = PRETRAIN if job.kind == PRETRAIN else None
    spec["branch_from"] = str(job.branch_from) if job.branch_from else None
    path = folder / f"{job.name}.json"
    path.write_text(json.dumps(spec, indent=1))
    return path


def last_error(log: Path, code: int) -> str:
    """The job's `error:` line from its log, else the signal that killed it or its exit code
    (never a progress line, which says nothing of why it stopped)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors = [ln for ln in lines if ln.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} (log: {log})"
    return f"exit code {code} with no error line (log: {log})"


def where(job: Job) -> str:
    """The job's phase and step from its newest events ('' before it has any)."""
    for event in reversed(read_events(job.run_dir)):
        if "step" in event and "phase" in event:
            return f"{event['phase']} {event['step']}"
        if event.get("event") == "checkpoint":
            return f"{event.get('stage', '')} {event['step']}"
    return ""


def run_plan(
    plan: SweepPlan,
    backend: Backend,
    *,
    jobs: int,
    threads: int,
    retry_failed: bool = False,
    progress: Any = None,
    on_start: Callable[[Job], Job] | None = None,
) -> SweepState:
    """Run every job not done yet (failed ones only with `retry_failed`); returns the state.
    `on_start` gives a job its final form as it starts, when the jobs it waits for are done
    (a confirmation's stopping threshold, which the original's dip decides)."""
    state = SweepState(plan)
    for name in state.names(FAILED) if retry_failed else []:
        state.set(name, QUEUED, error=None)
    state.save()
    files = write_job_files(plan)
    logs = plan.root / "logs"
    logs.mkdir(exist_ok=True)
    by_name = {j.name: j for j in plan.jobs}
    running: dict[str, Any] = {}
    if progress is not None:
        progress.update(state, {})
    try:
        while True:
            for job in plan.jobs:  # a failed pretraining fails the runs that need it
                entry = state.jobs[job.name]
                bad = [d for d in job.deps if state.jobs[d]["state"] == FAILED]
                if entry["state"] == QUEUED and bad:
                    state.set(job.name, FAILED, error=f"its pretraining {bad[0]} failed")
            ready = [
                j for j in plan.jobs
                if state.jobs[j.name]["state"] == QUEUED
                and all(state.jobs[d]["state"] == DONE for d in j.deps)
            ]  # fmt: skip
            for job in ready[: max(jobs - len(running), 0)]:
                log = logs / f"{job.name}.log"
                if on_start is not None and (final := on_start(job)) != job:
                    files[job.name] = write_job_file(plan.root, final)
                running[job.name] = backend.start(files[job.name], log, threads)
                state.set(job.name, RUNNING)
            if not running:
                break
            for name, code in backend.wait(running, timeout=1.0):
                del running[name]
                job, started = by_name[name], state.jobs[name].get("started") or time.time()
                seconds = round(time.time() - started, 1)
                if code == 0 and finished_on_disk(job):
                    state.set(name, DONE, error=None, seconds=seconds)
                else:
                    error = last_error(logs / f"{name}.log", code)
                    state.set(name, FAILED, error=error, seconds=seconds)
            if progress is not None:
                progress.update(state, {n: where(by_name[n]) for n in running})
    finally:
        backend.close()
    if progress is not None:
        progress.update(state, {})
    return state
