"""The report in the terminal: the key table and each run's diagnosis, with rich."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from wsdiag.analysis.summary import RunSummary
from wsdiag.report.model import Report
from wsdiag.report.tables import Table, key_table


def _rich(table: Table, title: str) -> RichTable:
    headers, rows = table
    out = RichTable(title=title, show_header=True)
    for i, h in enumerate(headers):
        out.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        out.add_row(*map(escape, row))
    return out


def print_diagnosis(s: RunSummary, console: Console) -> None:
    """One run's verdict, every finding and the mitigations against its causes."""
    colour = "red" if s.diagnosis.significant else "green"
    console.print(
        f"[bold]{escape(s.run.name)}[/]: [{colour}]{escape(s.diagnosis.verdict)}[/]",
        soft_wrap=True,
    )
    for f in s.diagnosis.findings:
        mark = {"fired": "[red]fired[/]", "clear": "[green]clear[/]"}.get(f.status, "[dim]n/a[/]")
        console.print(
            f"  {mark} {escape(f.title)}: {escape(f.evidence)}", soft_wrap=True, highlight=False
        )
    for f in s.diagnosis.causes:
        console.print(
            f"  against {escape(f.title)}: " + "; ".join(map(escape, f.mitigations)),
            soft_wrap=True,
            highlight=False,
        )


def print_report(report: Report, console: Console) -> None:
    console.print(_rich(key_table(report.summaries), "degradation"))
    for s in report.summaries:
        print_diagnosis(s, console)
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)
