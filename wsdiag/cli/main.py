"""`wsdiag`: the top-level Typer application."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from wsdiag import __version__
from wsdiag.cli import config, data, diagnose, export, probe, report, suite, sweep, train
from wsdiag.cli.errors import err_console

app = typer.Typer(
    name="wsdiag",
    help="Diagnose and fix warm-start degradation in off-policy actor-critic RL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion, --show-completion
)
app.command("train")(train.train)
app.command("probe")(probe.probe)
app.command("report")(report.report)
app.command("sweep")(sweep.sweep)
app.command("diagnose")(diagnose.diagnose)
app.command("export")(export.export)
app.add_typer(data.app, name="data")
app.add_typer(config.app, name="config")
app.add_typer(suite.app, name="suite")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wsdiag {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Diagnose and fix warm-start degradation in off-policy actor-critic RL."""


def main() -> None:
    """The console entry point. A usage error (an unknown option, a missing argument, a bad
    value for an option's type) is one line and exit code 2, like every other bad input."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        err_console.print("[bold red]aborted[/]")
        sys.exit(1)
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err_console.print(f"[bold red]error:[/] {escape(message)}{hint}", highlight=False,
                          soft_wrap=True)  # fmt: skip
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)
