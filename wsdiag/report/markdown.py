"""summary.md: the key tables, verdicts, findings and links to the figures."""

from __future__ import annotations

from wsdiag.analysis.summary import RunSummary
from wsdiag.report.counterfactual import confirmation_text
from wsdiag.report.model import Report
from wsdiag.report.tables import (
    AGGREGATE_NOTE,
    SAFETY_NOTE,
    TAIL_NOTE,
    Table,
    aggregate_table,
    findings_table,
    group_safety_table,
    group_table,
    key_table,
    safety_rows,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(table: Table) -> str:
    headers, rows = table
    lines = ["| " + " | ".join(map(_cell, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def _run(report: Report, s: RunSummary) -> list[str]:
    lines = [f"## {s.run.name}", "", f"**Verdict:** {s.diagnosis.verdict}", ""]
    lines += [md_table(findings_table(s)), ""]
    confirmation = report.confirmations.get(s.run.name)
    if confirmation is not None:
        verdict, items = confirmation_text(confirmation)
        lines += [f"**Confirmation** (`wsdiag diagnose --confirm`): {verdict}", ""]
        lines += [f"- {item}" for item in items] + [""]
    for f in s.diagnosis.causes:
        lines.append(f"Against **{f.title}**, wsdiag offers:")
        lines += [f"- {m}" for m in f.mitigations]
        lines.append("")
    safety = safety_rows(s.safety)
    if safety is not None:
        lines += [
            f"Safety table (evaluations after the warm-up; lower-tail VaR/CVaR; {TAIL_NOTE}):"
        ]
        lines.append("")
        lines += [md_table(safety), ""]
    for fig in report.run_figures.get(s.run.name, []):
        lines += [f"![{fig.title}]({fig.path.as_posix()})", f"*{fig.title}.* {fig.caption}", ""]
    return lines


def render_markdown(report: Report) -> str:
    lines = ["# wsdiag report", "", f"{len(report.summaries)} run(s), {report.created}.", ""]
    lines += [f"> warning: {w}" for w in report.warnings]
    lines += ["## Degradation", "", md_table(key_table(report.summaries)), ""]
    groups = group_table(report.groups, report.by_name)
    safety = group_safety_table(report.groups, report.by_name)
    if groups is not None:
        lines += ["Across seeds, mean [95% bootstrap CI]:", "", md_table(groups), ""]
        aggregates = aggregate_table(report.stats)
        if aggregates is not None:
            lines += [f"Across seeds, rliable's aggregates ({AGGREGATE_NOTE}):", ""]
            lines += [md_table(aggregates), ""]
        lines += [f"Across seeds, safety with the seeds pooled ({SAFETY_NOTE}):", ""]
        lines += [md_table(safety), ""]
    lines += [f"- **{s.run.name}**: {s.diagnosis.verdict}" for s in report.summaries]
    lines.append("")
    for fig in report.overview:
        lines += [f"![{fig.title}]({fig.path.as_posix()})", f"*{fig.title}.* {fig.caption}", ""]
    for s in report.summaries:
        lines += _run(report, s)
    lines.append("Definitions of every metric and rule: docs/metrics.md.")
    return "\n".join(lines) + "\n"
