"""A run that starts where another parts from it: at that run's branch checkpoint.

A counterfactual run whose intervention changes nothing before policy updates begin (a BC
penalty, a lower actor learning rate) would repeat, step for step, the warm-up its original ran.
`branch_run` makes its run directory as it would stand at the original's branch checkpoint
(`checkpoints/branch`, the last episode end at or before the updates begin, saved by the
`Checkpointer`): its own config and provenance, that checkpoint as its newest, the original's
online metrics, events and probe files up to that step; `wsdiag train --resume` (the sweep's
worker) then continues it under its own config. From an episode end a resumed run repeats the
uninterrupted one, so the result is the run the intervention would have made from the start,
but for the mitigation's constants, which it records at the branch step instead of step 0.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from wsdiag.atomic import replace_symlink
from wsdiag.config import Config
from wsdiag.core import ONLINE_PHASES
from wsdiag.errors import WsdiagError
from wsdiag.rundir import (
    BRANCH,
    CHECKPOINTS_DIR,
    LATEST,
    PROBE_SET_FILE,
    PROBES_DIR,
    STATE_FILE,
    read_events,
    read_metrics,
)
from wsdiag.training.assemble import ONLINE_PREFIX
from wsdiag.training.new_run import create_run_dir
from wsdiag.training.recorder import COLUMNS, Recorder

KEPT_EVENTS_FROM = "warm_start"  # the source's events from this one on are the branch's too
DROPPED_EVENTS = ("checkpoint", "resume", "start")  # of checkpoints and starts not carried over


def branch_step(source: Path) -> int | None:
    """The step of `source`'s branch checkpoint, or None when it has none."""
    state = Path(source) / CHECKPOINTS_DIR / BRANCH / STATE_FILE
    return int(json.loads(state.read_text())["step"]) if state.is_file() else None


def branch_run(source: Path, run_dir: Path, config: Config, device: str = "cpu") -> int:
    """Make `run_dir` a run of `config` standing at `source`'s branch checkpoint (module
    docstring); returns its step."""
    source = Path(source)
    step = branch_step(source)
    if step is None:
        raise WsdiagError(f"{source} has no {CHECKPOINTS_DIR}/{BRANCH} to branch from")
    run_dir = create_run_dir(Path(run_dir).parent, config, Path(run_dir), device)
    checkpoints = run_dir / CHECKPOINTS_DIR
    shutil.copytree(source / CHECKPOINTS_DIR / BRANCH, checkpoints / f"{ONLINE_PREFIX}{step}")
    replace_symlink(checkpoints / LATEST, f"{ONLINE_PREFIX}{step}")
    _copy_probes(source / PROBES_DIR, run_dir / PROBES_DIR, step)
    recorder = Recorder(run_dir)
    frame = read_metrics(source)
    kept = frame[frame.phase.isin(ONLINE_PHASES) & (frame.step <= step)]
    recorder.rows = list(kept[list(COLUMNS)].itertuples(index=False, name=None))
    recorder.events = _events_until(read_events(source), step)
    recorder.event("branched", source=str(source), step=step)
    recorder.flush()
    return step


def _events_until(events: list[dict], step: int) -> list[dict]:
    """The source's events from its warm start up to `step`, but for its checkpoints."""
    names = [e["event"] for e in events]
    first = names.index(KEPT_EVENTS_FROM) if KEPT_EVENTS_FROM in names else len(events)
    kept = []
    for event in events[first:]:
        if event.get("step", 0) > step:
            break
        if event["event"] not in DROPPED_EVENTS:
            kept.append(event)
    return kept


def _copy_probes(source: Path, target: Path, step: int) -> None:
    """The probe set and the probe files of steps up to `step`."""
    if not source.is_dir():
        return
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        stem = path.name.split(".")[0]
        recorded = stem.removeprefix("step_")
        early = stem.startswith("step_") and recorded.isdigit() and int(recorded) <= step
        if path.name == PROBE_SET_FILE or early:
            shutil.copy2(path, target / path.name)
