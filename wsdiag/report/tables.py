"""The report's tables as (headers, rows of strings), shared by HTML, Markdown and the terminal."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from wsdiag.analysis.aggregates import Estimate
from wsdiag.analysis.fmt import num
from wsdiag.analysis.group_stats import SCORES, GroupStats
from wsdiag.analysis.groups import Group
from wsdiag.analysis.safety import LEVELS, min_values, pooled_safety_table
from wsdiag.analysis.stats import bootstrap_ci, finite
from wsdiag.analysis.summary import RunSummary

Table = tuple[list[str], list[list[str]]]

KEY_HEADERS = [
    "run", "R0", "min (step)", "dip", "dip / ref", "back to R0 (+steps)", "area < R0", "final",
    "mean",
]  # fmt: skip


def _recovery(step: int | None, time: int | None) -> str:
    return "not recovered" if step is None else f"{step} (+{time})"


def key_table(summaries: Sequence[RunSummary]) -> Table:
    rows = []
    for s in summaries:
        d = s.diagnosis.degradation
        if d is None:
            rows.append([s.run.name, num(s.run.baseline), *["n/a"] * 7])
            continue
        rows.append([
            s.run.name, num(d.baseline), f"{num(d.min_return)} ({d.min_step})", num(d.dip),
            f"{100 * d.dip_fraction:.0f}% {d.dip_reference}",
            _recovery(d.recovery_step, d.time_to_recover), num(d.area_below),
            num(d.final_return), num(d.mean_return),
        ])  # fmt: skip
    return KEY_HEADERS, rows


def _percent(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"


GROUP_METRICS = (  # (column, value of a Degradation, format)
    ("dip", lambda d: d.dip, num),
    ("dip / ref", lambda d: d.dip_fraction, _percent),
    ("area < R0", lambda d: d.area_below, num),
    ("final", lambda d: d.final_return, num),
    ("mean", lambda d: d.mean_return, num),
)


def group_table(groups: Sequence[Group], summaries: dict[str, RunSummary]) -> Table | None:
    """Mean [95% bootstrap CI] across seeds, for groups with more than one run."""
    multi = [g for g in groups if len(g.runs) > 1]
    if not multi:
        return None
    headers = ["config", "seeds", *(name for name, _, _ in GROUP_METRICS), "recovered"]
    rows = []
    for g in multi:
        degs = [d for r in g.runs if (d := summaries[r.name].diagnosis.degradation)]
        cells = []
        for _, get, fmt in GROUP_METRICS:
            ci = bootstrap_ci(finite([get(d) for d in degs]))
            cells.append(f"{fmt(ci.mean)} [{fmt(ci.low)}, {fmt(ci.high)}]")
        recovered = sum(d.recovered for d in degs)
        rows.append([g.label, str(len(g.runs)), *cells, f"{recovered}/{len(degs)}"])
    return headers, rows


AGGREGATE_NOTE = (
    "IQM: interquartile mean over seeds (25% trimmed mean); P(X > ref): probability that a "
    "seed of the row beats a seed of the reference (ties count 1/2), on the same environment; "
    "[95% stratified bootstrap CI], as rliable (Agarwal et al., 2021; docs/report.md)"
)


def _estimate(e: Estimate | None, fmt=num) -> str:
    return "n/a" if e is None else f"{fmt(e.value)} [{fmt(e.low)}, {fmt(e.high)}]"


def _probability(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def aggregate_table(stats: Sequence[GroupStats]) -> Table | None:
    """IQM and P(X > reference) of each group with two or more seeds (`group_stats`)."""
    if not stats:
        return None
    headers = ["config", "seeds", *(f"IQM {col}" for col, _ in SCORES)]
    headers += [f"P({col} > ref)" for col, _ in SCORES]
    ref = next(s for s in stats if s.reference)
    rows = []
    for s in stats:
        cells = [_estimate(s.iqm.get(col)) for col, _ in SCORES]
        for col, _ in SCORES:
            if s.reference:
                cells.append("ref")
            elif s.env != ref.env:
                cells.append("n/a (other env)")
            else:
                cells.append(_estimate(s.improvement.get(col), _probability))
        rows.append([s.label, str(s.seeds), *cells])
    return headers, rows


GROUP_SAFETY = (("returns", "R"), ("differences", "ΔR"))
TAIL_NOTE = "n/a: too few values to see the tail; VaR/CVaR at level c needs ceil(1/(1-c)) (" + (
    ", ".join(f"{100 * c:g}%: {min_values(c)}" for c in LEVELS) + "; docs/metrics.md)"
)
SAFETY_NOTE = (
    "R: evaluation returns over the fine-tuning window; ΔR: their step-to-step differences "
    f"within each seed; VaR95/CVaR95: the lower 5% tail; {TAIL_NOTE}"
)
GROUP_SAFETY_COLUMNS = ("min", "VaR95", "CVaR95")


def group_safety(group: Group, summaries: dict[str, RunSummary]) -> pd.DataFrame:
    """The safety table of a group's seeds pooled (`pooled_safety_table`)."""
    return pooled_safety_table([summaries[r.name].window for r in group.runs])


def group_safety_table(groups: Sequence[Group], summaries: dict[str, RunSummary]) -> Table | None:
    """Pooled lower-tail returns and step differences, for groups with more than one run."""
    multi = [g for g in groups if len(g.runs) > 1]
    if not multi:
        return None
    headers = ["config", "seeds"]
    headers += [f"{short} {col}" for _, short in GROUP_SAFETY for col in GROUP_SAFETY_COLUMNS]
    rows = []
    for g in multi:
        frame = group_safety(g, summaries)
        cells = [
            num(frame.loc[row, col]) for row, _ in GROUP_SAFETY for col in GROUP_SAFETY_COLUMNS
        ]
        rows.append([g.label, str(len(g.runs)), *cells])
    return headers, rows


def findings_table(s: RunSummary) -> Table:
    rows = [[f.title, f.status, f.evidence] for f in s.diagnosis.findings]
    return ["cause", "status", "evidence"], rows


def safety_rows(frame: pd.DataFrame | None) -> Table | None:
    if frame is None:
        return None
    headers = ["series", *frame.columns]
    return headers, [[str(i), *(num(v) for v in row)] for i, row in frame.iterrows()]
