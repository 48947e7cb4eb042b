"""The report's tables as (headers, rows of strings), shared by HTML, Markdown and the terminal."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from wsdiag.analysis.aggregates import Estimate
from wsdiag.analysis.degradation import Degradation, share_text
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


SUCCESS_HEADERS = ["success S0", "success min (step)", "success dip", "success final"]


def _percent(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.0f}%"


def _points(x: float | None) -> str:
    """A difference of success rates, in percentage points."""
    return "n/a" if x is None or x != x else f"{100 * x:.0f} pts"


def _success_cells(d: Degradation | None) -> list[str]:
    if d is None:
        return ["n/a"] * len(SUCCESS_HEADERS)
    return [_percent(d.baseline), f"{_percent(d.min_return)} ({d.min_step})", _points(d.dip),
            _percent(d.final_return)]  # fmt: skip


def key_table(summaries: Sequence[RunSummary]) -> Table:
    """One row per run; the success-rate columns when any run recorded success."""
    with_success = any(s.success is not None for s in summaries)
    rows = []
    for s in summaries:
        d = s.diagnosis.degradation
        if d is None:
            row = [s.run.name, num(s.run.baseline), *["n/a"] * 7]
        else:
            row = [
                s.run.name, num(d.baseline), f"{num(d.min_return)} ({d.min_step})", num(d.dip),
                share_text(d),
                _recovery(d.recovery_step, d.time_to_recover), num(d.area_below),
                num(d.final_return), num(d.mean_return),
            ]  # fmt: skip
        rows.append(row + (_success_cells(s.success) if with_success else []))
    return KEY_HEADERS + (SUCCESS_HEADERS if with_success else []), rows


GROUP_METRICS = (  # (column, value of a Degradation, format)
    ("dip", lambda d: d.dip, num),
    ("dip / ref", lambda d: d.dip_fraction, _percent),
    ("area < R0", lambda d: d.area_below, num),
    ("final", lambda d: d.final_return, num),
    ("mean", lambda d: d.mean_return, num),
)
GROUP_SUCCESS = (  # (column, value of a success-rate Degradation, format)
    ("success dip", lambda d: d.dip, _points),
    ("success final", lambda d: d.final_return, _percent),
)


def group_table(groups: Sequence[Group], summaries: dict[str, RunSummary]) -> Table | None:
    """Mean [95% bootstrap CI] across seeds, for groups with more than one run."""
    multi = [g for g in groups if len(g.runs) > 1]
    if not multi:
        return None
    with_success = any(summaries[r.name].success for g in multi for r in g.runs)
    headers = ["config", "seeds", *(name for name, _, _ in GROUP_METRICS), "recovered"]
    headers += [name for name, _, _ in GROUP_SUCCESS] if with_success else []
    rows = []
    for g in multi:
        degs = [d for r in g.runs if (d := summaries[r.name].diagnosis.degradation)]
        recovered = sum(d.recovered for d in degs)
        row = [
            g.label,
            str(len(g.runs)),
            *_ci_cells(GROUP_METRICS, degs),
            f"{recovered}/{len(degs)}",
        ]
        if with_success:
            successes = [d for r in g.runs if (d := summaries[r.name].success)]
            row += _ci_cells(GROUP_SUCCESS, successes)
        rows.append(row)
    return headers, rows


def _ci_cells(metrics: Sequence[tuple], degs: Sequence[Degradation]) -> list[str]:
    """'mean [low, high]' of each metric over `degs` (95% bootstrap CI)."""
    cells = []
    for _, get, fmt in metrics:
        ci = bootstrap_ci(finite([get(d) for d in degs]))
        cells.append(f"{fmt(ci.mean)} [{fmt(ci.low)}, {fmt(ci.high)}]")
    return cells


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
