"""sweep.json: each job's state (queued, running, done, failed with its error), written
atomically after every change, so that a killed sweep loses nothing that finished."""

from __future__ import annotations

import json
import time
from typing import Any

from wsdiag.atomic import atomic_write_text
from wsdiag.config import load_config, to_dict
from wsdiag.errors import WsdiagError
from wsdiag.rundir import (
    AGENT_FILE,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    PRETRAINED,
    SWEEP_FILE,
    is_complete,
)
from wsdiag.sweep.plan import PRETRAIN, Job, SweepPlan, pretraining_key

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def check_unchanged(job: Job) -> None:
    """A run directory the sweep made before must hold this job's config (`threads` aside):
    a changed sweep file must not pass an old result off as the new one's. A pretraining is
    compared on what the pretraining stage reads (`pretraining_key`), so that a change to the
    fine-tuning of the runs that share it keeps it."""
    saved = job.run_dir / CONFIG_FILE
    if not saved.exists():
        return
    if job.kind == PRETRAIN:
        changed = pretraining_key(job.config) != pretraining_key(load_config(saved))
    else:
        ours = {k: v for k, v in to_dict(job.config).items() if k != "threads"}
        theirs = {k: v for k, v in to_dict(load_config(saved)).items() if k != "threads"}
        changed = ours != theirs
    if changed:
        raise WsdiagError(
            f"{job.run_dir} was made with another config than the sweep file now asks for "
            "(the file changed?): remove it, or give the sweep a new --out"
        )


def finished_on_disk(job: Job) -> bool:
    """A pretraining is done once its pretrained checkpoint exists; a run once it has ended."""
    if job.kind == PRETRAIN:
        return (job.run_dir / CHECKPOINTS_DIR / PRETRAINED / AGENT_FILE).exists()
    return is_complete(job.run_dir)


class SweepState:
    """The states of a plan's jobs, read from and written to `<root>/sweep.json`."""

    def __init__(self, plan: SweepPlan) -> None:
        self.path = plan.root / SWEEP_FILE
        self.jobs: dict[str, dict[str, Any]] = {}
        saved = json.loads(self.path.read_text())["jobs"] if self.path.exists() else {}
        for job in plan.jobs:
            check_unchanged(job)
            entry = saved.get(job.name, {})
            state = entry.get("state", QUEUED)
            if finished_on_disk(job):
                state = DONE
            elif state in (RUNNING, DONE):  # killed, or its folder removed: run it (again)
                state = QUEUED
            self.jobs[job.name] = {
                "kind": job.kind,
                "run_dir": str(job.run_dir),
                "state": state,
                "error": entry.get("error") if state == FAILED else None,
                "seconds": entry.get("seconds"),
            }

    def set(self, name: str, state: str, **fields: Any) -> None:
        self.jobs[name] |= {"state": state, **fields}
        if state == RUNNING:
            self.jobs[name]["started"] = time.time()
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"jobs": self.jobs}, indent=1))

    def names(self, state: str) -> list[str]:
        return [n for n, e in self.jobs.items() if e["state"] == state]
