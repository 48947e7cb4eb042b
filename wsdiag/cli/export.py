"""`wsdiag export`: a run's metrics in another tool's format (TensorBoard event files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug

console = Console(stderr=True)


def export(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories written by `wsdiag train`, or sweep folders.", show_default=False
        ),
    ],
    tensorboard: Annotated[
        Path,
        typer.Option(
            "--tensorboard",
            help="Folder for TensorBoard event files: DIR/<run>/pretrain and DIR/<run>/online.",
            show_default=False,
        ),
    ],
    debug: Debug = False,
) -> None:
    """Convert each run's metrics.parquet into TensorBoard event files (parquet stays the source).

    Example: wsdiag export runs/demo-pendulum-td3-seed0 --tensorboard tb && tensorboard --logdir tb
    """
    with cli_errors(debug):
        from wsdiag.tfevents import export_runs

        written = export_runs(run_dirs, tensorboard)
        for name, files in written.items():
            console.print(f"{name}: {', '.join(f.parent.name for f in files) or 'no metrics'}")
        console.print(f"tensorboard --logdir {tensorboard}", soft_wrap=True, highlight=False)
