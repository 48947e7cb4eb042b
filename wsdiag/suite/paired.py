"""Check the diagnosis against a sweep's own counterfactual variant.

When a sweep holds an original variant and an intervention variant on the same pretrainings and
seeds (R1's `plain` and `actor-critic` in the reproduction sweeps), each seed's intervention run
is the original's counterfactual, so the verdicts can be checked without `wsdiag diagnose
--confirm` (docs/diagnosis.md).

Per seed: the original's verdict (root cause), its dip D, the intervention's dip D', the share
removed 1 - D'/D (confirmed when >= diagnose.confirm_share), and each run's early warning as
today's rules raise it from the recorded probes. Pooled: the share with its paired bootstrap
interval (wsdiag.analysis.confirm.share_removed). `pooled_from_arrays` gives runs recorded
before the `grad_cos_pooled/behaviour` probe its value, from each probe's saved arrays:
sum_i g_i . h_i = sum_i cos_i |g_i| |h_i| (grad_cos, grad_norm and pretrained/grad_norm at the
behavioural pairs), over sqrt(sum_i |g_i|^2 sum_i |h_i|^2).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from wsdiag import probe_keys as keys
from wsdiag.analysis.confirm import NONE, share_removed
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.errors import WsdiagError
from wsdiag.suite.collect import collect
from wsdiag.suite.record import UNCONFIRMED, SuiteRecord
from wsdiag.suite.targets import lead


def pair_arrays() -> tuple[str, str, str]:
    """The per-pair arrays the pooled cosine is made from (names from the registry)."""
    grad = keys.GRAD_NORM_BEHAVIOUR
    return keys.GRAD_COS_BEHAVIOUR.name, grad.name, keys.pretrained(grad)


def pooled_from_arrays(arrays: dict[str, np.ndarray]) -> float | None:
    """The pooled gradient cosine of one probe from its per-pair arrays (module docstring)."""
    names = pair_arrays()
    if not all(k in arrays for k in names):
        return None
    cos, g, h = (np.asarray(arrays[k], float) for k in names)
    norm = np.sqrt((g**2).sum() * (h**2).sum())
    return float((cos * g * h).sum() / norm) if norm > 0 else 0.0


def load_with_pooled_cosine(run_dir: Path) -> Run:
    """The run, with `grad_cos_pooled/behaviour` computed from its probe arrays where the run
    did not record it."""
    run = load_run(run_dir)
    m = run.metrics
    pooled = keys.metric(keys.GRAD_COS_POOLED_BEHAVIOUR)
    if (m.key == pooled).any():
        return run
    phases = m[m.key.map(keys.is_probe)].groupby("step").phase.first()
    extra = []
    for step in run.probe_steps:
        if step not in phases.index:
            continue
        value = pooled_from_arrays(run.probe_arrays(step, pair_arrays()))
        if value is not None:
            extra.append({"step": step, "phase": phases[step], "key": pooled, "value": value})
    return replace(run, metrics=pd.concat([m, pd.DataFrame(extra)], ignore_index=True))


def _by_seed(records: list[SuiteRecord], variant: str) -> dict[int, SuiteRecord]:
    out = {}
    for r in records:
        name, _, seed = r.run.rpartition("-seed")
        if name == variant:
            out[int(seed)] = r
    return out


def paired_table(
    runs: Path, original: str, intervention: str, cause: str, pooled_from: bool = False
) -> str:
    """The per-seed table and the summary lines (module docstring) of a sweep's runs/ folder."""
    records = collect(runs, load_with_pooled_cosine if pooled_from else load_run, replay=True)
    before, after = _by_seed(records, original), _by_seed(records, intervention)
    seeds = sorted(set(before) & set(after))
    if not seeds:
        raise WsdiagError(f"no seed has both '{original}' and '{intervention}' in {runs}")
    need = Thresholds().confirm_share
    lines = [
        f"| seed | {original}: verdict | dip D | {intervention}: dip D' | share removed | "
        f"confirmed | warning ({original}) | warning ({intervention}) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    agree = degrading = known = 0
    for s in seeds:
        a, b = before[s], after[s]
        share = share_removed(np.array([a.dip]), np.array([b.dip])).share
        confirmed = NONE  # no significant dip: nothing to confirm
        if a.significant:
            confirmed = cause if share >= need else UNCONFIRMED  # another cause, not tested here
            degrading += 1
            known += confirmed == cause
            agree += a.verdict == confirmed
        lines.append(
            f"| {s} | {a.verdict} | {a.dip:.0f} | {b.dip:.0f} | {100 * share:.0f}% | {confirmed} | "
            f"{a.warning} (lowest at {a.min_step}) | {b.warning} "
            f"({'degrades' if b.significant else 'no significant dip'}) |"
        )
    pooled = share_removed(np.array([before[s].dip for s in seeds]),
                           np.array([after[s].dip for s in seeds]))  # fmt: skip
    quiet = [after[s] for s in seeds if not after[s].significant]
    lines += [
        "",
        f"share of the dip removed by {intervention}: {pooled} ({pooled.seeds})",
        f"{intervention} confirms {cause} in {known}/{degrading} degrading runs; the verdict "
        f"names it in {agree}/{known} of those",
        f"early warning in time: {sum(lead(before[s]) is not None for s in seeds)}/{degrading} "
        f"degrading {original} runs; false alarms: "
        f"{sum(r.warning is not None for r in quiet)}/{len(quiet)} non-degrading "
        f"{intervention} runs",
    ]
    return "\n".join(lines)
