"""Options shared by several commands, and the console their status lines go to."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print only errors (stderr) and the final paths (stdout, one a line).",
    ),
]


def status_console(quiet: bool) -> Console:
    """The stderr console of progress and status lines: silent with --quiet (errors are printed
    by `cli_errors` on its own console, so they still show); a quiet one is never a terminal,
    so no live display starts on it."""
    return Console(stderr=True, quiet=True, force_terminal=False) if quiet else Console(stderr=True)
