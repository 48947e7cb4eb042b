"""The report's progress while figures render: a rich bar on a terminal, one plain line per
figure elsewhere (logs, pipes), nothing on a quiet console."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# progress(done, total, name): `done` of `total` figures drawn, `name` (a path relative to the
# report folder) drawn next; an empty name once all are drawn.
FigureProgress = Callable[[int, int, str], None]


def _lines(console: Console) -> FigureProgress:
    def show(done: int, total: int, name: str) -> None:
        if name:
            console.print(f"figure {done + 1}/{total}: {name}", highlight=False, soft_wrap=True)

    return show


@contextmanager
def figure_progress(console: Console) -> Iterator[FigureProgress | None]:
    """The display for `console`: None when it is quiet; closed (a bar removed) on exit."""
    if console.quiet:
        yield None
        return
    if not console.is_terminal:
        yield _lines(console)
        return
    bar = Progress(
        TextColumn("[bold cyan]figures"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    task = bar.add_task("reading the runs", total=None)

    def show(done: int, total: int, name: str) -> None:
        bar.update(task, completed=done, total=total, description=name)

    with bar:
        yield show
