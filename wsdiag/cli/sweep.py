"""`wsdiag sweep`: many runs from one file (docs/sweep.md), on local processes or a Ray cluster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wsdiag.cli.errors import cli_errors, err_console
from wsdiag.cli.options import Debug, Quiet, status_console
from wsdiag.errors import WsdiagError


def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep file (TOML).", show_default=False)],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Parent of the sweep folder; what {out} means in the file."
        ),
    ] = Path("runs"),
    jobs: Annotated[
        int | None, typer.Option(help="Runs at a time (default: the core count / threads).")
    ] = None,
    backend: Annotated[str, typer.Option(help="local (processes) or ray.")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a local Ray instance).")
    ] = None,
    threads: Annotated[int, typer.Option(help="Torch threads (Ray: CPUs) per run.")] = 1,
    report: Annotated[
        bool, typer.Option("--report", help="One report over all runs at the end.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and stop.")] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run failed runs again.")
    ] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Run every variant x grid x seed of a sweep file, each distinct pretraining once.

    Rerun to continue: finished runs are skipped, killed ones resumed. Exits 1 if a run failed.

    Example: wsdiag sweep examples/sweeps/mitigations.toml --jobs 2 --report
    """
    console = status_console(quiet)
    with cli_errors(debug):
        from wsdiag.sweep.backends import make_backend
        from wsdiag.sweep.plan import build_plan, check_given_agents
        from wsdiag.sweep.progress import SweepProgress
        from wsdiag.sweep.runner import run_plan
        from wsdiag.sweep.spec import load_sweep

        if threads < 1 or (jobs is not None and jobs < 1):
            raise WsdiagError("--threads and --jobs must be >= 1")
        jobs = jobs or max(1, (os.cpu_count() or 1) // threads)
        plan = build_plan(load_sweep(sweep_file), out, threads)
        check_given_agents(plan)
        if dry_run:
            from wsdiag.sweep.estimate import plan_seconds
            from wsdiag.sweep.progress import human_duration

            for line in plan.describe():
                typer.echo(line)
            seconds = plan_seconds(plan.jobs, jobs, threads)
            typer.echo(f"about {human_duration(seconds)} with --jobs {jobs} --threads {threads} "
                       "(steps, actions, updates and probes timed on this machine)")  # fmt: skip
            return
        runner = make_backend(backend, address)
        progress = SweepProgress(console, jobs, {j.name: j.env_steps for j in plan.jobs})
        try:
            state = run_plan(plan, runner, jobs=jobs, threads=threads,
                             retry_failed=retry_failed, progress=progress)  # fmt: skip
        finally:
            progress.close()
        failed = state.names("failed")
        done = len(state.names("done"))
        console.print(f"sweep {plan.root}: {done} done, {len(failed)} failed", soft_wrap=True)
        for name in failed:  # errors: shown with --quiet too
            err_console.print(
                f"  [red]failed[/] {escape(name)}: {escape(str(state.jobs[name]['error']))}",
                soft_wrap=True,
                highlight=False,
            )
        if quiet:
            typer.echo(plan.root)
        if report and len(failed) < len(plan.jobs):
            from wsdiag.report.writer import write_report

            result = write_report([plan.root], plan.root / "report", per_run_figures=False)
            console.print(f"report: [bold]{result.out / 'report.html'}[/]", soft_wrap=True)
            if quiet:
                typer.echo(result.out / "report.html")
        if failed:
            raise typer.Exit(1)
