"""`wsdiag diagnose`: a run's verdict along the mechanism chain, confirmed by counterfactuals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug, Thresholds
from wsdiag.errors import WsdiagError

console = Console(stderr=True)
NOT_OF_CONFIRM = ("run_dir", "confirm", "overrides", "debug")  # every other option is --confirm's


NO_CAUSE = "none"  # --causes none: test no cause (the no-op control alone, with --control)


def _chosen(causes: str | None) -> list[str] | None:
    """--causes as cause keys: None for every cause, [] for `none` (the no-op control alone)."""
    from wsdiag.analysis.rules import cause_named

    if not causes:
        return None
    if causes.strip() == NO_CAUSE:
        return []
    return [cause_named(c.strip()) for c in causes.split(",")]


def _refuse_confirm_options_without_confirm(ctx: typer.Context) -> None:
    """An option of --confirm given without it would be silently ignored: refuse it."""
    for name in (p.name for p in ctx.command.params if p.name not in NOT_OF_CONFIRM):
        source = ctx.get_parameter_source(name)  # typer may carry its own click: by name
        if source is not None and source.name == "COMMANDLINE":
            flag = "--" + name.replace("_", "-")
            raise WsdiagError(f"{flag} is an option of --confirm, which is not set")


def diagnose(
    ctx: typer.Context,
    run_dir: Annotated[Path, typer.Argument(help="A run directory.", show_default=False)],
    confirm: Annotated[
        bool,
        typer.Option("--confirm", help="Run one intervention per candidate cause and measure it."),
    ] = False,
    seeds: Annotated[
        int, typer.Option(help="Seeds each intervention starts on, from the run's own.")
    ] = 5,
    max_seeds: Annotated[
        int,
        typer.Option(help="Seeds an intervention may get, one at a time, while undecided."),
    ] = 10,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Run every counterfactual from the pretrained agent to the run's end (no "
            "branching, no cut), as earlier versions did.",
        ),
    ] = False,
    causes: Annotated[
        str | None,
        typer.Option(
            help="Causes to test, comma-separated, by key or as the diagnosis prints them "
            "(extrapolation or critic_extrapolation; default: all)."
        ),
    ] = None,
    control: Annotated[
        bool,
        typer.Option(
            "--control",
            help="Also run the no-op control: the original on other seeds, whose confirmations "
            "are false ones (with --causes none, the control alone).",
        ),
    ] = False,
    interventions: Annotated[
        Path | None, typer.Option(help="Interventions table (default: the built-in one).")
    ] = None,
    strengths: Annotated[
        str,
        typer.Option(
            help="first: each intervention at its default strength; all: at every strength its "
            "entry lists, each its own runs and sign test (at 5% / m), a cause confirmed by any.",
        ),
    ] = "first",
    jobs: Annotated[int, typer.Option(help="Runs at a time.")] = 1,
    backend: Annotated[str, typer.Option(help="local (processes) or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    threads: Annotated[int, typer.Option(help="Torch threads (Ray: CPUs) per run.")] = 1,
    until_confirmed: Annotated[
        bool,
        typer.Option(
            "--until-confirmed",
            help="Test the causes in the chain's order; stop at the first confirmed (and the "
            "verdict's own cause).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the counterfactual runs and stop.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Confirm even a run without a significant degradation."),
    ] = False,
    overrides: Thresholds = None,
    debug: Debug = False,
) -> None:
    """Print a run's diagnosis; with --confirm, test each cause by an intervention.

    The interventions fine-tune the run's own pretrained checkpoint with the same seeds (the
    run's seed and the next ones) under RUN_DIR/counterfactual/; rerun to continue.

    Example: wsdiag diagnose runs/demo --confirm --jobs 2
    """
    with cli_errors(debug):
        from wsdiag.analysis.confirm import INCONCLUSIVE
        from wsdiag.analysis.run import load_run
        from wsdiag.analysis.summary import summarise
        from wsdiag.analysis.thresholds import thresholds_from
        from wsdiag.report.terminal import print_diagnosis
        from wsdiag.sweep.confirm import check_confirm_options, confirm_run
        from wsdiag.sweep.counterfactual import FIRST, base_table

        thresholds = thresholds_from(overrides or [])
        chosen = _chosen(causes)
        if confirm:
            check_confirm_options(chosen, seeds, jobs, threads, backend, interventions,
                                  strengths)  # fmt: skip
            if max_seeds < seeds:
                raise WsdiagError(f"--max-seeds ({max_seeds}) is below --seeds ({seeds})")
            base_table(run_dir)  # its pretrained agent is there to branch from
        else:
            _refuse_confirm_options_without_confirm(ctx)
        summary = summarise(load_run(run_dir), thresholds)
        print_diagnosis(summary, console)
        if not confirm:
            return
        if not summary.diagnosis.significant and not force:
            console.print("nothing to confirm: no significant degradation (--force runs it anyway)")
            return
        verdict = summary.diagnosis.causes[0].cause if summary.diagnosis.causes else None
        result = confirm_run(
            run_dir,
            thresholds=thresholds,
            seeds=seeds,
            max_seeds=max_seeds,
            full=full,
            causes=chosen,
            interventions=interventions,
            jobs=jobs,
            backend=backend,
            address=address,
            threads=threads,
            dry_run=dry_run,
            console=console,
            until_confirmed=until_confirmed,
            verdict=verdict,
            control=control,
            strengths=strengths,
        )
        if result is not None:
            for item in result.interventions:
                line = item.sentence(result.min_share)
                console.print(f"  {line}", soft_wrap=True, highlight=False)
            colour = "green" if result.confirmed else "yellow"
            console.print(f"[{colour}]{result.verdict()}[/]", soft_wrap=True, highlight=False)
            if (judgement := result.judgement(verdict)) is not None:
                console.print(judgement, soft_wrap=True, highlight=False)
            if result.truth == INCONCLUSIVE:
                again = "" if strengths == FIRST else f" --strengths {strengths}"
                console.print(f"more seeds: wsdiag diagnose {run_dir} --confirm --max-seeds "
                              f"{2 * max_seeds}{again} (the finished runs are reused)",
                              soft_wrap=True, highlight=False)  # fmt: skip
