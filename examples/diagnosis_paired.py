"""The diagnosis against a sweep's own counterfactual: when a sweep holds an original variant and
an intervention variant on the same pretrainings and seeds (R1's `plain` and `actor-critic` in
examples/sweeps/reproduction/), each seed's intervention run is the original's counterfactual,
so the verdicts can be checked without `wsdiag diagnose --confirm` (docs/diagnosis.md).

    python -m examples.diagnosis_paired runs/repro-inverted-pendulum-td3
    python -m examples.diagnosis_paired runs/repro-pendulum-td3 --cause extrapolation \\
        --original plain --intervention actor-critic

Per seed: the original's verdict (root cause), its dip D, the intervention's dip D', the share
removed 1 - D'/D (confirmed when >= diagnose.confirm_share), and each run's early warning.
Pooled: the share with its paired bootstrap interval (wsdiag.analysis.confirm.share_removed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from examples.diagnosis_suite import NONE, rows
from wsdiag.analysis.confirm import share_removed
from wsdiag.analysis.thresholds import Thresholds


def _by_seed(items: list[dict], variant: str) -> dict[int, dict]:
    out = {}
    for item in items:
        name, _, seed = item["run"].rpartition("-seed")
        if name == variant:
            out[int(seed)] = item
    return out


def _warned_in_time(item: dict) -> bool:
    return item["warning"] is not None and item["warning"] < item["min_step"]


def paired_table(runs: Path, original: str, intervention: str, cause: str) -> str:
    """The per-seed table and the summary lines (module docstring)."""
    items = rows(runs)
    before, after = _by_seed(items, original), _by_seed(items, intervention)
    seeds = sorted(set(before) & set(after))
    if not seeds:
        raise SystemExit(f"error: no seed has both '{original}' and '{intervention}' in {runs}")
    need = Thresholds().confirm_share
    lines = [
        f"| seed | {original}: verdict | dip D | {intervention}: dip D' | share removed | "
        f"confirmed | warning ({original}) | warning ({intervention}) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    agree = degrading = known = 0
    for s in seeds:
        a, b = before[s], after[s]
        d, d2 = a["dip"], b["dip"]
        share = 1.0 - d2 / d if d > 0 else float("nan")
        confirmed = NONE  # no significant dip: nothing to confirm
        if a["significant"]:
            confirmed = cause if share >= need else "?"  # "?": another cause, not tested here
            degrading += 1
            known += confirmed == cause
            agree += a["verdict"] == confirmed
        lines.append(
            f"| {s} | {a['verdict']} | {d:.0f} | {d2:.0f} | {100 * share:.0f}% | {confirmed} | "
            f"{a['warning']} (lowest at {a['min_step']}) | {b['warning']} "
            f"({'degrades' if b['significant'] else 'no significant dip'}) |"
        )
    pooled = share_removed(np.array([before[s]["dip"] for s in seeds]),
                           np.array([after[s]["dip"] for s in seeds]))  # fmt: skip
    quiet = [after[s] for s in seeds if not after[s]["significant"]]
    lines += [
        "",
        f"share of the dip removed by {intervention}: {pooled} ({pooled.seeds})",
        f"{intervention} confirms {cause} in {known}/{degrading} degrading runs; the verdict "
        f"names it in {agree}/{known} of those",
        f"early warning in time: {sum(_warned_in_time(before[s]) for s in seeds)}/{degrading} "
        f"degrading {original} runs; false alarms: "
        f"{sum(r['warning'] is not None for r in quiet)}/{len(quiet)} non-degrading "
        f"{intervention} runs",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder (<out>/<name>)")
    parser.add_argument("--original", default="plain")
    parser.add_argument("--intervention", default="actor-critic")
    parser.add_argument("--cause", default="extrapolation", help="the cause it tests")
    args = parser.parse_args()
    print(paired_table(args.sweep / "runs", args.original, args.intervention, args.cause))


if __name__ == "__main__":
    main()
