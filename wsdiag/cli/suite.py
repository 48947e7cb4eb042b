"""`wsdiag suite`: the diagnosis benchmark (docs/diagnosis.md#the-diagnosis-benchmark-wsdiag-suite):
run a suite's scenarios and confirm their causes (run), score the diagnosis on the records
(table)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug, Quiet, status_console
from wsdiag.errors import WsdiagError

if TYPE_CHECKING:
    from wsdiag.suite.split import Split

app = typer.Typer(help="The diagnosis benchmark: run a suite's scenarios, score the diagnosis.")

SplitName = Annotated[
    str | None,
    typer.Option("--split", help="Only this split's scenarios: dev or test (needs --split-file)."),
]
SplitFile = Annotated[
    Path | None,
    typer.Option(help="The split file (TOML: dev = [...], test = ['part/variant', ...])."),
]


def _split(which: str | None, split_file: Path | None) -> Split | None:
    """The split file, checked (None without one); `which` needs one and must name a split."""
    from wsdiag.suite.split import SPLITS, load_split

    if which is not None and which not in SPLITS:
        raise WsdiagError(f"--split {which}: unknown split (known: {', '.join(SPLITS)})")
    if which is not None and split_file is None:
        raise WsdiagError("--split needs --split-file (the file that lists each split)")
    return None if split_file is None else load_split(split_file)


@app.command()
def run(
    suite_file: Annotated[
        Path, typer.Argument(help="The suite's sweep file (TOML).", show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Parent of the sweep folder and its records.")
    ] = Path("runs"),
    split: SplitName = None,
    split_file: SplitFile = None,
    jobs: Annotated[int | None, typer.Option(help="Runs at a time (default: the cores).")] = None,
    seeds: Annotated[
        int, typer.Option(help="Seeds each intervention starts on, for the ground truth.")
    ] = 5,
    max_seeds: Annotated[
        int,
        typer.Option(help="Seeds an intervention may get while its sign test is undecided."),
    ] = 10,
    control: Annotated[
        bool,
        typer.Option(
            "--control",
            help="Also confirm the no-op control on each run: its false-confirmation rate.",
        ),
    ] = False,
    strengths: Annotated[
        str,
        typer.Option(
            help="first: each cause's intervention at its default strength; all: at every "
            "strength its entry lists (each sign test at 5% / m, a cause confirmed by any).",
        ),
    ] = "first",
    each_run: Annotated[
        bool,
        typer.Option(
            "--each-run",
            help="Confirm every run on its own seeds, not one run a scenario (the first that "
            "degrades, whose truth its scenario's runs share).",
        ),
    ] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Run a suite's sweep, confirm each scenario's cause by counterfactual runs, write the
    records.

    A scenario (a variant over the sweep's seeds) shares a pretraining and a cause: its first
    significantly degrading run is confirmed on --seeds seeds (more while a sign test is
    undecided), and that truth is every degrading run's of the scenario. The records go to
    OUT/NAME.jsonl (OUT/NAME.SPLIT.jsonl with --split), NAME the sweep
    file's name. Rerun to continue: finished runs and counterfactuals are reused.

    Example: wsdiag suite run examples/sweeps/diagnosis_suite.toml --out runs --jobs 2
    """
    console = status_console(quiet)
    with cli_errors(debug):
        from wsdiag.suite.collect import collect_part
        from wsdiag.suite.record import distinct, read_records, write_records
        from wsdiag.suite.run import of_variants, run_part
        from wsdiag.suite.split import DEV, TEST
        from wsdiag.suite.tables import part_summary
        from wsdiag.sweep.counterfactual import which_strengths
        from wsdiag.sweep.spec import load_sweep

        if seeds < 1 or (jobs is not None and jobs < 1):
            raise WsdiagError("--seeds and --jobs must be >= 1")
        if max_seeds < seeds:
            raise WsdiagError(f"--max-seeds ({max_seeds}) is below --seeds ({seeds})")
        which_strengths(strengths)
        chosen = _split(split, split_file)
        name = load_sweep(suite_file).name
        variants = None
        if chosen is not None and split is not None:
            variants = chosen.variants(split, name)
            if not variants:
                raise WsdiagError(f"no scenario of {suite_file} ('{name}/...') is in the "
                                  f"{split} split of {split_file}")  # fmt: skip
            dev_records = out / f"{name}.{DEV}.jsonl"
            if split == TEST and dev_records.is_file():
                chosen.check(read_records(dev_records))
        runs = run_part(suite_file, out, jobs or max(1, os.cpu_count() or 1), seeds,
                        console=console, variants=variants, control=control,
                        by_scenario=not each_run, strengths=strengths,
                        max_seeds=max_seeds)  # fmt: skip
        records = collect_part(runs, name, keep=of_variants(variants), split=split,
                               by_scenario=not each_run)  # fmt: skip
        path = out / (f"{name}.{split}.jsonl" if split else f"{name}.jsonl")
        write_records(records, path)
        console.print(f"{name}: {part_summary(distinct(records)[0])}", soft_wrap=True)
        console.print(f"records: [bold]{path}[/]", soft_wrap=True)
        if quiet:
            typer.echo(path)


@app.command()
def table(
    records: Annotated[
        list[Path], typer.Argument(help="Record files (JSON lines).", show_default=False)
    ],
    split: SplitName = None,
    split_file: SplitFile = None,
    own_truth: Annotated[
        bool,
        typer.Option(
            "--own-truth",
            help="Only the runs whose own confirmation gave their truth (one a scenario with "
            "`suite run`), not those that took their scenario's.",
        ),
    ] = False,
    debug: Debug = False,
) -> None:
    """Print the suite's tables and the benchmark's metrics over record files.

    Each experiment is counted once. With --split, only that split's scenarios are scored; a
    test scenario that has a record made for the dev split is refused.

    Example: wsdiag suite table examples/results/diagnosis_suite.jsonl
    """
    with cli_errors(debug):
        from wsdiag.suite.record import distinct, read_records
        from wsdiag.suite.tables import benchmark_table, report

        rows = [r for path in records for r in read_records(path)]
        chosen = _split(split, split_file)
        if chosen is not None:
            chosen.check(rows)
            if split is not None:
                rows = chosen.keep(split, rows)
                if not rows:
                    raise WsdiagError(f"no record of a {split} scenario of {split_file}")
        if own_truth:
            rows = [r for r in rows if r.truth_from is None]
        if not rows:
            raise WsdiagError("no record in " + ", ".join(str(p) for p in records))
        typer.echo(report(rows))
        typer.echo("\nthe benchmark's metrics (docs/diagnosis.md):\n")
        typer.echo(benchmark_table(distinct(rows)[0]))
