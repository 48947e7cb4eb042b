"""Check the diagnosis against a sweep's own counterfactual variant.

When a sweep holds an original variant and an intervention variant on the same pretrainings and
seeds (R1's `plain` and `actor-critic` in examples/sweeps/reproduction/), each seed's
intervention run is the original's counterfactual, so the verdicts can be checked without
`wsdiag diagnose --confirm` (docs/diagnosis.md).

    python -m examples.diagnosis_paired runs/repro-inverted-pendulum-td3
    python -m examples.diagnosis_paired runs/repro-pendulum-td3 --cause extrapolation \\
        --original plain --intervention actor-critic --pooled-from-arrays

Per seed: the original's verdict (root cause), its dip D, the intervention's dip D', the share
removed 1 - D'/D (confirmed when >= diagnose.confirm_share), and each run's early warning as
today's rules raise it from the recorded probes. Pooled: the share with its paired bootstrap
interval (wsdiag.analysis.confirm.share_removed). `--pooled-from-arrays` gives runs recorded
before the `grad_cos_pooled/behaviour` probe its value, from each probe's saved arrays:
sum_i g_i . h_i = sum_i cos_i |g_i| |h_i| (grad_cos, grad_norm and pretrained/grad_norm at the
behavioural pairs), over sqrt(sum_i |g_i|^2 sum_i |h_i|^2).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from examples.diagnosis_suite import NONE, rows
from wsdiag.analysis.confirm import share_removed
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.thresholds import Thresholds

POOLED = "probe/grad_cos_pooled/behaviour"


def pooled_from_arrays(arrays: dict[str, np.ndarray]) -> float | None:
    """The pooled gradient cosine of one probe from its per-pair arrays (module docstring)."""
    keys = ("grad_cos/behaviour", "grad_norm/behaviour", "pretrained/grad_norm/behaviour")
    if not all(k in arrays for k in keys):
        return None
    cos, g, h = (np.asarray(arrays[k], float) for k in keys)
    norm = np.sqrt((g**2).sum() * (h**2).sum())
    return float((cos * g * h).sum() / norm) if norm > 0 else 0.0


def load_with_pooled_cosine(run_dir: Path) -> Run:
    """The run, with `grad_cos_pooled/behaviour` computed from its probe arrays where the run
    did not record it."""
    run = load_run(run_dir)
    m = run.metrics
    if (m.key == POOLED).any():
        return run
    phases = m[m.key.str.startswith("probe/")].groupby("step").phase.first()
    extra = []
    for step in run.probe_steps:
        if step not in phases.index:
            continue
        with np.load(run.probe_file(step)) as z:
            value = pooled_from_arrays(dict(z))
        if value is not None:
            extra.append({"step": step, "phase": phases[step], "key": POOLED, "value": value})
    return replace(run, metrics=pd.concat([m, pd.DataFrame(extra)], ignore_index=True))


def _by_seed(items: list[dict], variant: str) -> dict[int, dict]:
    out = {}
    for item in items:
        name, _, seed = item["run"].rpartition("-seed")
        if name == variant:
            out[int(seed)] = item
    return out


def _warned_in_time(item: dict) -> bool:
    return item["warning"] is not None and item["warning"] < item["min_step"]


def paired_table(
    runs: Path, original: str, intervention: str, cause: str, pooled_from: bool = False
) -> str:
    """The per-seed table and the summary lines (module docstring)."""
    items = rows(runs, load_with_pooled_cosine if pooled_from else load_run, replay=True)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder (<out>/<name>)")
    parser.add_argument("--original", default="plain", help="the variant the verdicts are of")
    parser.add_argument(
        "--intervention", default="actor-critic", help="the variant that is its counterfactual"
    )
    parser.add_argument("--cause", default="extrapolation", help="the cause it tests")
    parser.add_argument(
        "--pooled-from-arrays",
        action="store_true",
        help="compute grad_cos_pooled from the probe arrays of older runs",
    )
    args = parser.parse_args(argv)
    runs = args.sweep / "runs"
    if not runs.is_dir():
        parser.exit(2, f"error: {args.sweep} is not a sweep folder (no runs/ in it)\n")
    print(paired_table(runs, args.original, args.intervention, args.cause, args.pooled_from_arrays))


if __name__ == "__main__":
    main()
