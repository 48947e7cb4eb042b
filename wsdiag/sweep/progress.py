"""The sweep's progress: a live table on a terminal (counts, each running job's phase and
step, an ETA from the finished jobs' durations), one plain line per change elsewhere."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table

from wsdiag.sweep.state import DONE, FAILED, QUEUED, RUNNING, SweepState


def eta(state: SweepState, jobs: int) -> str:
    """Seconds left at the finished jobs' mean duration, `jobs` at a time ('?' before one ends)."""
    done = [e["seconds"] for e in state.jobs.values() if e["state"] == DONE and e["seconds"]]
    left = len(state.names(QUEUED)) + len(state.names(RUNNING))
    if not done:
        return "?"
    seconds = sum(done) / len(done) * left / max(jobs, 1)
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class SweepProgress:
    def __init__(self, console: Console, jobs: int) -> None:
        self.console, self.jobs = console, jobs
        self.live = Live(console=console, auto_refresh=False) if console.is_terminal else None
        self.seen: dict[str, str] = {}
        if self.live is not None:
            self.live.start()

    def update(self, state: SweepState, where: dict[str, str]) -> None:
        counts = {s: len(state.names(s)) for s in (QUEUED, RUNNING, DONE, FAILED)}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        summary += f"; ETA {eta(state, self.jobs)}"
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
