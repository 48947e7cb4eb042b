"""`wsdiag report`: figures, degradation and safety metrics and a diagnosis of run directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug, Quiet, Thresholds, require_finite, status_console
from wsdiag.report.choices import EmbeddingMethod


def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories written by `wsdiag train`, or sweep folders.", show_default=False
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Report folder (default: RUN_DIR/report for one run, ./report)."
        ),
    ] = None,
    random_return: Annotated[
        float | None,
        typer.Option(
            help="Return of a uniformly random policy: the dip is then a fraction of "
            "R0 - R_random (default: the run's measured random return, else |R0|)."
        ),
    ] = None,
    embedding: Annotated[
        EmbeddingMethod,
        typer.Option(help="State embedding: auto (UMAP, PCA for few points), umap or pca."),
    ] = "auto",
    overrides: Thresholds = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap and the embeddings.")] = 0,
    formats: Annotated[
        str,
        typer.Option(
            "--format",
            help="Figure files, comma-separated, of png, svg, pdf (e.g. png,pdf); report.html "
            "and summary.md show the png, else the svg.",
        ),
    ] = "png",
    run_figures: Annotated[
        bool,
        typer.Option(
            help="Each run's figures (a few seconds per run); --no-run-figures keeps the "
            "tables, verdicts and cross-run figures only."
        ),
    ] = True,
    reference: Annotated[
        str | None,
        typer.Option(
            help="The group the others are compared with (P(X > ref)), by its label (default: "
            "plain, else the first without a mitigation)."
        ),
    ] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Write report.html, summary.md, summary.json and the figures; print the diagnosis.

    Example: wsdiag report runs/demo-pendulum-td3-seed0 runs/warmup-0-seed0 --out report
    """
    console = status_console(quiet)
    with cli_errors(debug):
        from wsdiag.analysis.thresholds import thresholds_from
        from wsdiag.report.formats import parse_formats
        from wsdiag.report.progress import figure_progress
        from wsdiag.report.terminal import print_report
        from wsdiag.report.writer import write_report

        require_finite(random_return=random_return)
        thresholds = thresholds_from(overrides or [])
        figure_files = parse_formats(formats)
        with figure_progress(console) as progress:
            result = write_report(
                run_dirs,
                out,
                thresholds=thresholds,
                r_random=random_return,
                embedding=embedding,
                seed=seed,
                per_run_figures=run_figures,
                formats=figure_files,
                progress=progress,
                reference=reference,
            )
        if quiet:
            typer.echo(result.out / "report.html")
            return
        print_report(result, Console())
        console.print(
            f"report: [bold]{result.out / 'report.html'}[/] ({result.seconds:.1f} s)",
            soft_wrap=True,
        )
