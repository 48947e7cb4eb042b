"""Print the tables of docs/reproduction.md and draw its figures from the reproduction sweeps.

    python -m examples.reproduction.tables RUNS [--img docs/img/reproduction]

RUNS is the `--out` of the sweeps in examples/sweeps/reproduction/; each sweep folder found
there gives its claims' sections (markdown on stdout, one figure per claim under --img).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from examples.reproduction.claims import CLAIMS
from examples.reproduction.common import Figures, seconds, sweep_groups


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("--img", type=Path, default=Path("docs/img/reproduction"))
    args = parser.parse_args(argv)
    found = [n for n in CLAIMS if (args.runs / n / "sweep.json").exists()]
    if not found:
        parser.exit(2, f"error: no reproduction sweep under {args.runs} ({', '.join(CLAIMS)})\n")
    for folder_name in found:
        sweep = CLAIMS[folder_name]
        folder = args.runs / folder_name
        groups = sweep_groups(folder)
        hours = seconds(folder) / 3600
        print(f"## {sweep.title}: {folder_name} ({hours:.1f} h of one-thread compute)\n")
        figures = Figures(args.img, sweep.prefix)
        for section in sweep.sections:
            print(f"### {section.__name__.upper()}\n")
            print("\n".join(section(groups, figures)), "\n")


if __name__ == "__main__":
    main()
