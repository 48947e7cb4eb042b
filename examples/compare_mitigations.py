"""The comparison table of docs/results/mitigations.md from a sweep's report: a row per variant,
sorted by dip, with means over seeds, each seed's lowest return, recoveries and the pooled lower
tails.

    wsdiag sweep examples/sweeps/mitigations.toml --jobs 2 --report
    python -m examples.compare_mitigations runs/mitigations/report/summary.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def _whole(x: float) -> str:
    return "n/a" if x != x else f"{x:.0f}"  # NaN: too few values for the level


def comparison_table(summary: dict) -> str:
    """One Markdown row per variant from a report's summary.json: means over seeds, the seeds'
    lowest returns, recoveries, and the pooled lower tails (CVaR95) of returns and differences."""
    rows = []
    for group in summary["groups"]:
        degs = [r["degradation"] for r in summary["runs"] if r["name"] in group["runs"]]
        degs = [d for d in degs if d]
        if not degs:
            continue
        lows = ", ".join(f"{d['min_return']:.0f}" for d in degs)
        back = sum(d["recovery_step"] is not None for d in degs)
        safety = group["safety"]
        means = [f"{_mean(degs, key):.0f}" for key in ("baseline", "dip")]
        ends = [f"{_mean(degs, key):.0f}" for key in ("final_return", "mean_return")]
        tails = [_whole(safety[row]["CVaR95"]) for row in ("returns", "differences")]
        cells = [group["label"], *means, lows, *ends, f"{back}/{len(degs)}", *tails]
        rows.append((_mean(degs, "dip"), cells))
    head = ["variant", "R0", "dip", "lowest return per seed", "final", "mean", "back to R0",
            "CVaR95 R", "CVaR95 ΔR"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for _, cells in sorted(rows, key=lambda r: r[0])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path, help="a report's summary.json")
    args = parser.parse_args()
    if not args.summary.is_file():
        parser.error(f"no such file: {args.summary}")
    print(comparison_table(json.loads(args.summary.read_text())))


if __name__ == "__main__":
    main()
