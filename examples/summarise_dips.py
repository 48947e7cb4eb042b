"""Print, for every run under a folder, the baseline return, the lowest evaluation from the
policy start (the package's dip: wsdiag.analysis.degradation, as `wsdiag report` measures it)
and the final one.

python -m examples.summarise_dips runs/pendulum-degradation
"""

from __future__ import annotations

import sys
from pathlib import Path

from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.run import load_run
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.rundir import METRICS_FILE


def summarise_dips(root: Path) -> list[tuple[str, Degradation]]:
    """(run, its degradation) for each run with an evaluation after its policy start."""
    rows = []
    for run_dir in sorted(p for p in root.iterdir() if (p / METRICS_FILE).exists()):
        deg = summarise(load_run(run_dir), Thresholds()).diagnosis.degradation
        if deg is not None:
            rows.append((run_dir.name, deg))
    return rows


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    print("| run | baseline | lowest while fine-tuning (step) | final |")
    print("|---|---|---|---|")
    for name, d in summarise_dips(root):
        print(f"| {name} | {d.baseline:.0f} | {d.min_return:.0f} ({d.min_step}) | "
              f"{d.final_return:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
