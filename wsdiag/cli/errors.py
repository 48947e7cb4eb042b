"""Turning exceptions into one red line and an exit code (tracebacks only with --debug)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from wsdiag.errors import WsdiagError

err_console = Console(stderr=True)


@contextmanager
def cli_errors(debug: bool) -> Iterator[None]:
    """WsdiagError -> its exit code (2; 1 for a halted run); other errors -> 1; Ctrl-C -> 130."""
    try:
        yield
    except typer.Exit:
        raise
    except WsdiagError as exc:
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        if debug:
            raise
        err_console.print("[bold red]interrupted[/]: resume with --resume RUN_DIR")
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(run again with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
