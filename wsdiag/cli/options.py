"""Options shared by several commands, and the console their status lines go to."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console

from wsdiag.errors import WsdiagError

Thresholds = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Diagnosis threshold NAME=VALUE, e.g. update_rms=0.3; docs/diagnosis.md lists "
        "every name and its default.",
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
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


def require_finite(**options: float | None) -> None:
    """Refuse a NaN or infinite value of a float option (named as on the command line)."""
    for name, value in options.items():
        if value is not None and not math.isfinite(value):
            raise WsdiagError(f"--{name.replace('_', '-')} must be a finite number, not {value}")
