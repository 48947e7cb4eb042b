"""Turning exceptions into one red line and an exit code (tracebacks only with --debug)."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from wsdiag.errors import WsdiagError

err_console = Console(stderr=True)


@contextmanager
def cli_errors(debug: bool) -> Iterator[None]:
    """WsdiagError -> its exit code (2; 1 for a halted run); a path that is not what the
    command needs (a file for a folder, a link loop, ...) -> 2; other errors -> 1; Ctrl-C -> 130."""
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
        if _bad_path(exc):  # bad input too: exit 2
            err_console.print(f"[bold red]error:[/] {escape(_path_message(exc))}",
                              highlight=False, soft_wrap=True)  # fmt: skip
            raise typer.Exit(2) from None
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(run again with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


PATH_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError)  # fmt: skip


def _bad_path(exc: BaseException) -> bool:
    """A path given on the command line that is not what the command needs: a file where a
    folder is needed, one that exists already, a symbolic-link loop, no permission."""
    if isinstance(exc, OSError):
        return isinstance(exc, PATH_ERRORS) or exc.errno == errno.ELOOP
    return isinstance(exc, RuntimeError) and str(exc).startswith(
        "Symlink loop"
    )  # pathlib's resolve() before Python 3.13


def _path_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)
