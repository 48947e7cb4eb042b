"""Print, for every run under a folder, the baseline return and the lowest fine-tuning evaluation.

python -m examples.summarise_dips runs/pendulum-degradation
"""

from __future__ import annotations

import sys
from pathlib import Path

from wsdiag.rundir import read_metrics


def summarise(root: Path) -> list[tuple[str, float, float, int, float]]:
    """(run, baseline, lowest fine-tuning eval, its step, final eval) for each finished run."""
    rows = []
    for run_dir in sorted(p for p in root.iterdir() if (p / "metrics.parquet").exists()):
        frame = read_metrics(run_dir)
        baseline = frame[frame.key == "eval/baseline_return"]
        evals = frame[(frame.key == "eval/return") & (frame.phase == "finetune")]
        if baseline.empty or evals.empty:
            continue
        low = evals.loc[evals.value.idxmin()]
        rows.append(
            (run_dir.name, baseline.value.item(), low.value, int(low.step), evals.value.iloc[-1])
        )
    return rows


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    print("| run | baseline | lowest while fine-tuning (step) | final |")
    print("|---|---|---|---|")
    for name, base, low, step, final in summarise(root):
        print(f"| {name} | {base:.0f} | {low:.0f} ({step}) | {final:.0f} |")


if __name__ == "__main__":
    main()
