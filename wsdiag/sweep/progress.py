"""The sweep's progress: a live table on a terminal (counts, each running job's phase and
step, an ETA), one plain line per change elsewhere. The ETA is the finished jobs' mean duration
for each job left, `jobs` at a time; before a job has finished, each running job's duration
projected from the share of its steps done in the time it has run."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from wsdiag.sweep.state import DONE, FAILED, QUEUED, RUNNING, SweepState

MIN_SHARE = 0.05  # a running job's projection waits for this share of its steps


def eta(
    state: SweepState,
    jobs: int,
    where: dict[str, str] | None = None,
    totals: dict[str, int] | None = None,
    now: float | None = None,
) -> str:
    """Time left (module docstring); '?' until a job has finished or run MIN_SHARE of its
    steps. `where`: each running job's 'phase step'; `totals`: each job's steps."""
    done = [e["seconds"] for e in state.jobs.values() if e["state"] == DONE and e["seconds"]]
    left = len(state.names(QUEUED)) + len(state.names(RUNNING))
    if done:
        return human_duration(sum(done) / len(done) * left / max(jobs, 1))
    now = time.time() if now is None else now
    projected = []
    for name in state.names(RUNNING):
        started, text = state.jobs[name].get("started"), (where or {}).get(name, "")
        total = (totals or {}).get(name, 0)
        if started and total and text.split()[-1:] and text.split()[-1].isdigit():
            share = int(text.split()[-1]) / total
            if share >= MIN_SHARE:
                projected.append((now - started) / share)
    if not projected:
        return "?"
    mean = sum(projected) / len(projected)
    return human_duration(mean * left / max(jobs, 1))


def human_duration(seconds: float) -> str:
    """95 -> '2 min', 30 -> '30 s', 7300 -> '2.0 h'."""
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


class SweepProgress:
    def __init__(self, console: Console, jobs: int, totals: dict[str, int] | None = None) -> None:
        """`totals`: each job's steps, for the ETA before a job has finished."""
        self.console, self.jobs, self.totals = console, jobs, totals or {}
        self.live = Live(console=console, auto_refresh=False) if console.is_terminal else None
        self.seen: dict[str, str] = {}
        if self.live is not None:
            self.live.start()

    def update(self, state: SweepState, where: dict[str, str]) -> None:
        counts = {s: len(state.names(s)) for s in (QUEUED, RUNNING, DONE, FAILED)}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        summary += f"; ETA {eta(state, self.jobs, where, self.totals)}"
        if self.live is None:
            if not self.seen:  # the first call: what an earlier invocation left, in one line
                self.seen = {name: entry["state"] for name, entry in state.jobs.items()}
                self.console.print(f"sweep of {len(state.jobs)} jobs: {summary}", highlight=False)
                return
            for name, entry in state.jobs.items():
                if self.seen.get(name) != entry["state"]:
                    self.seen[name] = entry["state"]
                    if entry["state"] != QUEUED:
                        error = f": {entry['error']}" if entry.get("error") else ""
                        self.console.print(f"{entry['state']:<8} {name}{error} ({summary})",
                                           highlight=False, soft_wrap=True)  # fmt: skip
            return
        table = Table(title=summary, show_header=True)
        for column in ("job", "state", "where"):
            table.add_column(column)
        for name in state.names(RUNNING):
            table.add_row(name, RUNNING, where.get(name, ""))
        for name in state.names(FAILED):
            table.add_row(name, FAILED, str(state.jobs[name]["error"])[:80])
        self.live.update(table, refresh=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
