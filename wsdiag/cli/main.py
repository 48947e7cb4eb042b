"""`wsdiag`: the top-level Typer application."""

from __future__ import annotations

from typing import Annotated

import typer

from wsdiag import __version__
from wsdiag.cli import config, data, diagnose, export, probe, report, sweep, train

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
    app()
