"""Progress display: a rich bar (phase, step, steps/s, last evaluation, ETA) or quiet log lines."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from wsdiag.core import Callback, due

if TYPE_CHECKING:
    from wsdiag.training.loop import Loop

REFRESH_STEPS = 200


def _eval_text(loop: Loop) -> str:
    return "-" if loop.state.last_eval is None else f"{loop.state.last_eval:.1f}"


class RichProgress(Callback):
    """A live progress bar for one stage."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.task = None
        self.clock = (0.0, 0)

    def on_start(self, loop: Loop) -> None:
        self.progress = Progress(
            TextColumn("[bold cyan]{task.fields[phase]:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[sps]:>6.0f} steps/s"),
            TextColumn("eval {task.fields[eval]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            loop.stage,
            total=loop.total_steps,
            completed=loop.step,
            phase=loop.phase.name,
            sps=0.0,
            eval=_eval_text(loop),
        )
        self.clock = (time.perf_counter(), loop.step)

    def on_env_step(self, loop: Loop) -> None:
        if loop.step % REFRESH_STEPS and not loop.done:
            return
        now = time.perf_counter()
        sps = (loop.step - self.clock[1]) / max(now - self.clock[0], 1e-9)
        self.clock = (now, loop.step)
        self.progress.update(
            self.task, completed=loop.step, phase=loop.phase.name, sps=sps, eval=_eval_text(loop)
        )

    def on_end(self, loop: Loop) -> None:
        self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class QuietProgress(Callback):
    """One plain line per evaluation, for CI logs and files."""

    def __init__(self, console: Console, every: int) -> None:
        self.console, self.every = console, every
        self.clock = (0.0, 0)

    def on_start(self, loop: Loop) -> None:
        self.clock = (time.perf_counter(), loop.step)

    def on_env_step(self, loop: Loop) -> None:
        if not due(loop, self.every):
            return
        now = time.perf_counter()
        sps = (loop.step - self.clock[1]) / max(now - self.clock[0], 1e-9)
        self.clock = (now, loop.step)
        where = loop.stage if loop.phase.name == loop.stage else f"{loop.stage} {loop.phase.name}"
        self.console.print(
            f"{where} step {loop.step}/{loop.total_steps} "
            f"{sps:.0f} steps/s eval {_eval_text(loop)}",
            highlight=False,
        )

    def close(self) -> None: ...


class NoProgress(Callback):
    """Nothing on the console."""

    def close(self) -> None: ...


PROGRESS_MODES = ("bar", "quiet", "none")


def progress_callback(
    mode: str, console: Console, every: int
) -> RichProgress | QuietProgress | NoProgress:
    """The progress display for `mode` (bar | quiet | none); `every`: quiet's line interval."""
    if mode == "bar":
        return RichProgress(console)
    if mode == "quiet":
        return QuietProgress(console, every)
    if mode == "none":
        return NoProgress()
    raise ValueError(f"progress must be one of {', '.join(PROGRESS_MODES)}, got {mode!r}")
