"""What a report holds: the runs' summaries, their groups, the figures drawn, warnings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from wsdiag.analysis.confirm import Confirmation
from wsdiag.analysis.group_stats import GroupStats
from wsdiag.analysis.groups import Group
from wsdiag.analysis.summary import RunSummary
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.report.figures import FigureFile

HTML_FILE, MARKDOWN_FILE, JSON_FILE = "report.html", "summary.md", "summary.json"


@dataclass
class Report:
    out: Path
    summaries: list[RunSummary]
    groups: list[Group]
    thresholds: Thresholds
    stats: list[GroupStats] = field(default_factory=list)  # rliable aggregates, 2+ seeds
    overview: list[FigureFile] = field(default_factory=list)
    run_figures: dict[str, list[FigureFile]] = field(default_factory=dict)
    confirmations: dict[str, Confirmation] = field(default_factory=dict)  # diagnose --confirm's
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    @property
    def by_name(self) -> dict[str, RunSummary]:
        return {s.run.name: s for s in self.summaries}

    @property
    def files(self) -> list[Path]:
        figures = [*self.overview, *(f for fs in self.run_figures.values() for f in fs)]
        names = [HTML_FILE, MARKDOWN_FILE, JSON_FILE]
        return [self.out / n for n in names] + [self.out / f.path for f in figures]
