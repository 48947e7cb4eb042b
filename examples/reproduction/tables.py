"""Print the tables of docs/reproduction.md and draw its figures from the reproduction sweeps;
record each claim's effects; print each claim's verdict from the record by the rule.

    python -m examples.reproduction.tables RUNS [--img docs/img/reproduction] [--record FILE]
    python -m examples.reproduction.tables --verdicts examples/results/reproduction/claims.json
    python -m examples.reproduction.tables --rule

RUNS is the `--out` of the sweeps in examples/sweeps/reproduction/; each sweep folder found
there gives its claims' sections (markdown on stdout, one figure per claim under --img), unless
a run of its plan has not finished (it is skipped, saying which). With
--record FILE, the claims' parts computed from those sweeps replace theirs in FILE (the parts of
sweeps not found are kept), and the verdicts are printed. --verdicts FILE prints every part's
verdict and each claim's summary cell from FILE alone; --rule prints the rule the page declares.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from examples.reproduction import record
from examples.reproduction.verdict import RULE, load_record, report


def _sweeps(runs: Path, img: Path, record_file: Path | None) -> str | None:
    """Print the sections of every reproduction sweep under `runs`; with `record_file`, merge
    their parts into it. An error message when no sweep is there."""
    from examples.reproduction.claims import CLAIMS  # matplotlib and the runs' readers
    from examples.reproduction.common import Figures, seconds, sweep_groups, unfinished

    found = [n for n in CLAIMS if (runs / n / "sweep.json").exists()]
    if not found:
        return f"error: no reproduction sweep under {runs} ({', '.join(CLAIMS)})\n"
    entries = []
    for folder_name in found:
        sweep = CLAIMS[folder_name]
        folder = runs / folder_name
        missing, planned_runs = unfinished(folder)
        if missing:  # its parts would rest on fewer seeds than its file asks
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            print(
                f"## {sweep.title}: {folder_name}: {len(missing)} of {planned_runs} runs not "
                f"finished ({shown}): skipped, rerun its sweep to finish them\n"
            )
            continue
        groups = sweep_groups(folder)
        hours = seconds(folder) / 3600
        print(f"## {sweep.title}: {folder_name} ({hours:.1f} h of one-thread compute)\n")
        figures = Figures(img, sweep.prefix)
        for section in sweep.sections:
            print(f"### {section.__name__.upper()}\n")
            print("\n".join(section(groups, figures)), "\n")
        source = record.provenance(folder, [r for group in groups.values() for r in group])
        for parts in sweep.parts:
            entries += [{**e, "source": source} for e in parts(groups, sweep.task)]
    if record_file is not None:
        record.write(record_file, record.merge(record.read(record_file), entries))
        print("## Verdicts\n")
        print("\n".join(report(load_record(record_file))))
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="?")
    parser.add_argument("--img", type=Path, default=Path("docs/img/reproduction"))
    parser.add_argument("--record", type=Path, help="merge the sweeps' claim parts into FILE")
    parser.add_argument("--verdicts", type=Path, help="print the verdicts of a record FILE")
    parser.add_argument("--rule", action="store_true", help="print the verdict rule")
    args = parser.parse_args(argv)
    if args.rule:
        print(RULE)
    if args.verdicts is not None:
        try:
            print("\n".join(report(load_record(args.verdicts))))
        except (OSError, ValueError, KeyError, TypeError) as e:
            parser.exit(2, f"error: {args.verdicts}: {e!r}\n")
    if args.runs is not None:
        error = _sweeps(args.runs, args.img, args.record)
        if error:
            parser.exit(2, error)
    elif not (args.rule or args.verdicts):
        parser.error("give RUNS, --verdicts FILE or --rule")


if __name__ == "__main__":
    main()
