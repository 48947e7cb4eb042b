"""The suite's tables from its records (docs/diagnosis.md): the verdicts against the ground
truth, the warning's timeliness and false alarms, one line per run, the verdicts against each
scenario's pooled truth, and the targets per part; `report` puts them together, each
experiment counted once. `benchmark_table` gives the benchmark's metrics
(`wsdiag.suite.metrics`)."""

from __future__ import annotations

from collections import Counter

from wsdiag.analysis.confirm import CONFIRMED, INCONCLUSIVE, NONE, PRIORITY, REFUTED, Share
from wsdiag.analysis.fmt import percent_interval
from wsdiag.suite.metrics import (
    LABELS,
    Estimate,
    confirmed_runs,
    control_rate,
    recommendations,
    verdict_metrics,
    warning_strata,
)
from wsdiag.suite.record import NOT_TESTED, UNCONFIRMED, SuiteRecord, distinct
from wsdiag.suite.scenarios import scenario, scenarios
from wsdiag.suite.targets import Counts, count, targets_table


def _runs_line(records: list[SuiteRecord], c: Counts) -> str:
    known = [r for r in records if r.significant and r.truth != UNCONFIRMED]
    named = sum(r.confirmed in (r.named or ()) for r in known)
    return (f"runs: {len(records)}, significantly degrading: {c.degrading} (with a ground truth: "
            f"{c.known}); verdict = truth in {c.agree}/{c.known} (the truth named among its "
            f"causes: {named})")  # fmt: skip


def _others_line(c: Counts) -> str:
    return f"non-degrading runs: {c.others}, called degrading: {c.called}"


def _warning_line(c: Counts) -> str:
    lead = "n/a" if c.median_lead is None else c.median_lead
    return (f"early warning before the lowest return: {c.in_time}/{c.degrading}, median lead "
            f"{lead} steps; false alarms {c.alarms}/{c.others}")  # fmt: skip


def part_summary(records: list[SuiteRecord]) -> str:
    """One line for a part of the suite: runs, false calls and the warning."""
    c = count(records)
    return "; ".join([_runs_line(records, c), _others_line(c), _warning_line(c)])


def share_cell(record: SuiteRecord, cause: str) -> str:
    """'63%', or '63% [38, 94]' when the record has the share's interval over seeds."""
    share = record.shares.get(cause)
    if share is None or share != share:
        return ""
    low, high = record.intervals.get(cause, (float("nan"), float("nan")))
    return str(Share(share, low, high, record.seeds))


def tables(records: list[SuiteRecord]) -> str:
    """The confusion table (verdict vs truth, runs with a ground truth), the warning's
    timeliness and false alarms, and one line per run."""
    c = count(records)
    known = [r for r in records if r.significant and r.truth != UNCONFIRMED]
    lines = [_runs_line(records, c),
             f"ground truth: {c.caused} confirmed, {c.truths[NONE]} none (every intervention "
             f"refuted), {c.truths[INCONCLUSIVE]} inconclusive; verdict = truth where a cause is "
             f"confirmed: {c.agree_caused}/{c.caused}, where the truth is decided: "
             f"{c.agree_decided}/{c.decided}",
             f"the verdict's own intervention: {c.own[CONFIRMED]} confirmed, {c.own[REFUTED]} "
             f"refuted, {c.own[INCONCLUSIVE]} inconclusive, {c.own[NOT_TESTED]} not tested",
             ""]  # fmt: skip
    columns = [*sorted({r.truth for r in known} - {NONE, INCONCLUSIVE}), NONE, INCONCLUSIVE]
    lines += ["| verdict \\ truth | " + " | ".join(columns) + " |",
              "|---" * (len(columns) + 1) + "|"]  # fmt: skip
    counts = Counter((r.verdict, r.truth) for r in known)
    for v in sorted({r.verdict for r in known}):
        lines.append(f"| {v} | " + " | ".join(str(counts[(v, t)]) for t in columns) + " |")
    lines += ["", _others_line(c), _warning_line(c), ""]
    tested = [k for k in PRIORITY if any(k in r.shares for r in records)]
    lines += ["| run | degrading | dip | verdict | truth | " + " | ".join(tested) + " | "
              "warning step | lowest return step |", "|---" * (7 + len(tested)) + "|"]  # fmt: skip
    for r in records:
        shares = " | ".join(share_cell(r, k) for k in tested)
        cells = [r.run, "yes" if r.significant else "no", f"{r.dip:.0f}", r.verdict, r.truth,
                 shares, str(r.warning), str(r.min_step)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scenario_tables(records: list[SuiteRecord]) -> str:
    """Each degrading run's verdict against its scenario's confirmed cause
    (`wsdiag.suite.scenarios`)."""
    groups = scenarios(records)
    runs = [(r, g.confirmed) for g in groups for r in g.runs]
    agree = sum(r.verdict == truth for r, truth in runs)
    tested = [c for c in PRIORITY if any(c in g.shares for g in groups)]
    lines = [f"by scenario (shares pooled over its degrading seeds): verdict = the scenario's "
             f"confirmed cause in {agree}/{len(runs)}", "",
             "| scenario | seeds | verdicts | " + " | ".join(tested) + " | confirmed |",
             "|---" * (4 + len(tested)) + "|"]  # fmt: skip
    for g in groups:
        verdicts = ", ".join(r.verdict for r in g.runs)
        cells = " | ".join(str(g.shares[c]) if c in g.shares else "" for c in tested)
        lines.append(f"| {g.name} | {len(g.runs)} | {verdicts} | {cells} | {g.confirmed} |")
    return "\n".join(lines)


def report(records: list[SuiteRecord]) -> str:
    """Every table of the records, each experiment once ('counted once' names the others)."""
    kept, repeats = distinct(records)
    lines = []
    for run, first in repeats:
        same = "recorded twice" if run == first else f"the same experiment as {first}"
        lines.append(f"counted once: {run} is {same}")
    lines += ["", tables(kept), "", scenario_tables(kept), "", "the targets, per part:", "",
              targets_table(kept)]  # fmt: skip
    return "\n".join(lines)


def _lead_cell(median: float | None) -> str:
    return "n/a" if median is None else f"{median:,.0f}"


def _control_cell(records: list[SuiteRecord]) -> str:
    found, rate = control_rate(records)
    if not found.n:
        return "not run (`wsdiag suite run --control`)"
    return f"{found} [{100 * rate.low:.0f}, {100 * rate.high:.0f}]%"


def benchmark_table(records: list[SuiteRecord]) -> str:
    """The benchmark's metrics over `records` as given (`wsdiag.suite.metrics`; kappa's interval
    resamples scenarios): accuracy, kappa against the majority-class baseline (and over the
    degrading runs alone: a run without a significant dip is "none" to both verdict and truth,
    an agreement by construction), per-cause recall and precision, the confusion matrix,
    non-degrading runs called degrading, the warning's AUROC, false alarms and lead per critic
    stratum, and the verdict as a recommendation against every fixed one."""
    m = verdict_metrics(records, [scenario(r.run) for r in records])
    degrading = [r for r in records if r.significant]
    d = verdict_metrics(degrading, [scenario(r.run) for r in degrading])
    lines = [f"runs with a ground truth: {m.n} (not confirmed yet, left out: {m.unconfirmed})",
             "", "| metric | value |", "|---|---|",
             f"| accuracy (verdict = truth) | {m.accuracy} |",
             f"| Cohen's kappa [95% CI, scenarios resampled] | {m.kappa} |",
             f"| kappa of the majority-class baseline (always '{m.majority}') | "
             f"{m.majority_kappa:.2f} (0 by construction) |",
             f"| Cohen's kappa of the degrading runs alone [95% CI] | {d.kappa} (accuracy "
             f"{d.accuracy}; always '{d.majority}': 0) |",
             f"| non-degrading runs called degrading | {m.called} |",
             f"| no-op control confirmed (false confirmations) [exact 95% CI] | "
             f"{_control_cell(records)} |",
             "", "| cause | recall (of its truths) | precision (of its verdicts) |",
             "|---|---|---|"]  # fmt: skip
    for label in LABELS[:-1]:
        recall, precision = m.per_cause[label]
        lines.append(f"| {label} | {recall} | {precision} |")
    lines += ["", "| verdict \\ truth | " + " | ".join(LABELS) + " |",
              "|---" * (len(LABELS) + 1) + "|"]  # fmt: skip
    for i, label in enumerate(LABELS[:-1]):
        lines.append(f"| {label} | " + " | ".join(str(x) for x in m.matrix[i]) + " |")
    lines += ["", "| critic | runs (degrading) | warning AUROC | false alarms | "
              "warned before the drop | median lead (steps) |", "|---" * 6 + "|"]  # fmt: skip
    for w in warning_strata(records):
        cells = [w.stratum, f"{w.degrading + w.others} ({w.degrading})",
                 "n/a" if w.auroc != w.auroc else f"{w.auroc:.2f}", str(w.false_alarms),
                 str(w.before_drop), _lead_cell(w.median_lead)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", recommendation_table(records)])


def _percent(e: Estimate | None) -> str:
    return "" if e is None else percent_interval(e.value, e.low, e.high)


def recommendation_table(records: list[SuiteRecord]) -> str:
    """The verdict's intervention against each fixed one, over the confirmed runs
    (`wsdiag.suite.metrics.recommendations`)."""
    rows = recommendations(records)
    if not rows:
        return "following the recommendation: no confirmed run with shares"
    lines = [f"following the recommendation, over the {len(confirmed_runs(records))} runs "
             "confirmed on their own seeds (95% CI, runs resampled):", "",
             "| recommendation | share of the dip removed | regret | verdict minus it |",
             "|---|---|---|---|"]  # fmt: skip
    for row in rows:
        name = "the verdict's cause" if row.name == "verdict" else f"always {row.name}"
        cells = [name, _percent(row.gain), _percent(row.regret), _percent(row.verdict_minus)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
