"""`wsdiag train`: run the warm-start protocol (pretrain, warm start, fine-tune) from a config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug, Quiet, status_console
from wsdiag.errors import WsdiagError


def train(
    config: Annotated[
        Path | None,
        typer.Argument(
            help="Experiment config (TOML). Optional with --resume.", show_default=False
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="Override a config field: section.key=value (TOML value).",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Parent folder of run directories.")
    ] = Path("runs"),
    seed: Annotated[int | None, typer.Option(help="Override the config's seed.")] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue a run directory from its newest complete checkpoint."),
    ] = None,
    until: Annotated[
        Literal["pretrain"] | None,  # the stages after which a run can stop
        typer.Option(help="Stop after this stage: 'pretrain' saves the pretrained checkpoint."),
    ] = None,
    quiet: Quiet = False,
    report: Annotated[
        bool, typer.Option("--report", help="Write RUN_DIR/report (wsdiag report) at the end.")
    ] = False,
    debug: Debug = False,
) -> None:
    """Run pretraining, the warm start and fine-tuning; print where the run and its results are.

    Example: wsdiag train wsdiag/configs/demo.toml --set finetune.steps=20000 --seed 1
    """
    console = status_console(quiet)
    with cli_errors(debug):
        from wsdiag.allocator import pad_heap_unless_set
        from wsdiag.config import dump_config, load_config
        from wsdiag.training.experiment import Experiment

        progress = "none" if quiet else "bar" if console.is_terminal else "quiet"
        if resume is not None:
            if overrides or seed is not None:
                raise WsdiagError("--resume continues a run as configured: drop --set/--seed")
            exp = Experiment.resume(resume, progress=progress, console=console)
            if config is not None:
                given = dump_config(load_config(config))
                if given != dump_config(exp.config):
                    raise WsdiagError(f"{config} differs from the config of {resume}")
        else:
            if config is None:
                raise WsdiagError("give a CONFIG.toml (or --resume RUN_DIR)")
            extra = [f"seed={seed}"] if seed is not None else []
            cfg = load_config(config, [*(overrides or []), *extra])
            exp = Experiment.create(cfg, out, progress=progress, console=console)
            taken = out / f"{cfg.name}-seed{cfg.seed}"
            if exp.run_dir != taken:
                console.print(
                    f"{taken} exists already: this run is {exp.run_dir.name}", soft_wrap=True
                )
        console.print(f"run directory: [bold]{exp.run_dir}[/]", soft_wrap=True)
        pad_heap_unless_set()  # the process's heap: fewer page faults (wsdiag.allocator)
        run_dir = exp.run(until=until)
        if quiet:
            typer.echo(run_dir)
        else:
            _summary(run_dir, console)
    if report and until is None:
        from wsdiag.cli.report import report as write_report

        write_report([run_dir], out=None, random_return=None, embedding="auto", overrides=None,
                     seed=0, run_figures=True, quiet=quiet, debug=debug)  # fmt: skip


def _summary(run_dir: Path, console: Console) -> None:
    """Print the evaluation returns that matter for warm-start degradation (and the success
    rates of those evaluations, when the env reports success)."""
    from wsdiag.rundir import read_metrics

    frame = read_metrics(run_dir)
    evals = frame[frame.key == "eval/return"]
    success = frame[frame.key == "eval/success"].set_index(["phase", "step"]).value
    table = Table(title=f"{run_dir}", show_header=True)
    table.add_column("quantity")
    table.add_column("step", justify="right")
    table.add_column("return", justify="right")
    if len(success):
        table.add_column("success", justify="right")

    def add(name: str, rows: object) -> None:
        if len(rows):  # type: ignore[arg-type]
            row = rows.iloc[0]  # type: ignore[attr-defined]
            cells = [name, str(int(row.step)), f"{row.value:.1f}"]
            if len(success):
                rate = success.get((row.phase, row.step))
                cells.append("-" if rate is None else f"{100 * rate:.0f}%")
            table.add_row(*cells)

    pre = evals[evals.phase == "pretrain"]
    online = evals[evals.phase != "pretrain"]
    finetune = online[online.phase == "finetune"]
    add("pretrained policy (last pretraining eval)", pre.tail(1))
    add("baseline: pretrained policy at step 0", frame[frame.key == "eval/baseline_return"])
    add("lowest eval while fine-tuning", finetune.nsmallest(1, "value"))
    add("final eval", online.tail(1))
    Console().print(table)
    console.print(f"metrics: {run_dir / 'metrics.parquet'}", soft_wrap=True)
    console.print(f"events:  {run_dir / 'events.jsonl'}", soft_wrap=True)
