"""The diagnosis suite: run a sweep of warm starts, confirm each run's cause by counterfactual
runs, and tabulate the verdicts against the confirmed causes (docs/diagnosis.md).

    python -m examples.diagnosis_suite --out runs --jobs 2
    python -m examples.diagnosis_suite --out runs --table-only   # the tables from what ran
    python -m examples.diagnosis_suite --suite examples/sweeps/diagnosis_suite*.toml \
        --out runs --table-only --replay                          # every part, today's rules
    python -m examples.diagnosis_suite --suite examples/sweeps/diagnosis_suite_offline.toml \
        --out runs --table-only --record examples/results/diagnosis_suite_offline.jsonl
    python -m examples.diagnosis_suite --records examples/results/*.jsonl   # from the record

`wsdiag suite run` and `wsdiag suite table` are the command (with the benchmark's metrics and
its dev/test split); this script keeps what they leave out: --table-only, --replay and
--until-confirmed. A thin command over `wsdiag.suite`: `run.run_part` sweeps and confirms a
part (resumable), `collect.collect_part` makes each run's record, `record` writes and reads them
as JSON lines, and `tables.report` prints the tables, each experiment counted once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wsdiag.analysis.prognosis import WARN_MODES
from wsdiag.errors import WsdiagError
from wsdiag.rundir import SWEEP_RUNS
from wsdiag.suite.collect import collect_part
from wsdiag.suite.record import SuiteRecord, distinct, read_records, write_records
from wsdiag.suite.run import run_part
from wsdiag.suite.tables import part_summary, report
from wsdiag.sweep.spec import load_sweep

SUITE = Path(__file__).parent / "sweeps" / "diagnosis_suite.toml"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument(
        "--suite",
        type=Path,
        nargs="+",
        default=[SUITE],
        help="sweep files of the suite's parts (tabulated together)",
    )
    p.add_argument("--out", type=Path, default=Path("runs"), help="parent of the sweep folders")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time")
    p.add_argument(
        "--seeds", type=int, default=1, help="seeds per intervention for the ground truth"
    )
    p.add_argument(
        "--until-confirmed",
        action="store_true",
        help="test the causes in the chain's order up to the first confirmed one",
    )
    p.add_argument("--table-only", action="store_true", help="tabulate what ran")
    p.add_argument(
        "--replay",
        nargs="?",
        const=True,
        default=False,
        choices=WARN_MODES,
        metavar="MODE",
        help="the warning today's rules raise from the recorded probes (in MODE: "
        f"{', '.join(WARN_MODES)}; default: today's default mode)",
    )
    p.add_argument(
        "--record", type=Path, help="write the records of the --suite parts to FILE (JSON lines)"
    )
    p.add_argument("--records", type=Path, nargs="+", default=[], help="tabulate recorded runs too")
    return p


def main(argv: list[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    if args.seeds < 1:
        cli.exit(2, "error: --seeds must be >= 1\n")
    records: list[SuiteRecord] = []
    fresh: list[SuiteRecord] = []
    try:
        for path in args.records:
            records += read_records(path)
        for suite in [] if args.records and args.suite == [SUITE] else args.suite:
            name = load_sweep(suite).name
            runs = args.out / name / SWEEP_RUNS
            if args.table_only and not runs.is_dir():
                raise WsdiagError(f"nothing ran of {suite} (no {runs})")
            if not args.table_only:
                runs = run_part(suite, args.out, args.jobs, args.seeds, args.until_confirmed)
            part = collect_part(runs, name, replay=args.replay)
            print(f"{name}: " + part_summary(distinct(part)[0]))
            fresh += part
    except WsdiagError as e:
        cli.exit(2, f"error: {e}\n")
    if args.record:
        try:
            write_records(fresh, args.record)
        except OSError as e:
            cli.exit(2, f"error: cannot write the record {args.record}: {e.strerror}\n")
    print(report(records + fresh))


if __name__ == "__main__":
    main()
