"""The report in the terminal: the key table and each run's diagnosis, with rich.

Everything wraps at word boundaries to the console's width. The key table keeps its run column
whole and splits its metric columns over as many stacked tables as the width needs (at 80
columns: two), each repeating the run column; findings hang under their status.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from wsdiag.analysis.summary import RunSummary
from wsdiag.report.model import Report
from wsdiag.report.tables import Table, key_table

STATUS = {"fired": ("fired", "red"), "clear": ("clear", "green")}  # otherwise: n/a, dim


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[tuple[int, int, int]]:
    """(narrowest, compact, natural) width of each column: its longest word; its longest cell
    with the header wrapped (counted by its longest word); its longest cell or header."""
    cols = list(zip(headers, *rows, strict=True))
    return [(max(map(_longest_word, c)), max([_longest_word(c[0]), *map(cell_len, c[1:])]),
             max(map(cell_len, c))) for c in cols]  # fmt: skip


def _table_width(widths: Sequence[int]) -> int:
    """A `_rich` table's width from its column widths: one space of padding each side of a
    column, a border between columns and at both ends."""
    return sum(w + 3 for w in widths) + 1


def min_width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """The narrowest `_rich` table of these cells that breaks no word."""
    return _table_width([low for low, _, _ in _widths(headers, rows)])


def _rich(
    headers: Sequence[str], rows: Sequence[Sequence[str]], title: str, width: int
) -> RichTable:
    """A table no wider than `width` when `min_width` allows: columns start at their longest
    word and get the room left, in order, up to their compact width, then up to their natural
    width (unwrapped headers)."""
    out = RichTable(title=title, show_header=True)
    widths = _widths(headers, rows)
    room = width - min_width(headers, rows)
    final = [low for low, _, _ in widths]
    for target in (1, 2):
        for i, w in enumerate(widths):
            extra = max(0, min(room, w[target] - final[i]))
            final[i] += extra
            room -= extra
    for i, (h, w) in enumerate(zip(headers, final, strict=True)):
        out.add_column(h, justify="left" if i == 0 else "right", width=w)
    for row in rows:
        out.add_row(*map(escape, row))
    return out


def _parts(widths: Sequence[tuple[int, int, int]], width: int) -> list[list[int]]:
    """The metric columns (1..n-1) in consecutive parts, each shown beside column 0: the fewest
    parts whose tables break no word, and of those the split that wraps the fewest columns
    (least natural width over `width`)."""
    n = len(widths)

    def fits(cols: list[int]) -> bool:
        return _table_width([widths[c][0] for c in [0, *cols]]) <= width

    def excess(cols: list[int]) -> int:
        return max(0, _table_width([widths[c][1] for c in [0, *cols]]) - width)

    for k in range(1, n):
        splits = []
        for cuts in itertools.combinations(range(2, n), k - 1):
            bounds = [1, *cuts, n]
            parts = [list(range(a, b)) for a, b in itertools.pairwise(bounds)]
            if all(fits(p) for p in parts):
                splits.append((sum(map(excess, parts)), parts))
        if splits:
            return min(splits, key=lambda s: s[0])[1]
    return [[c] for c in range(1, n)]  # even one column breaks a word: one at a time


def split_tables(table: Table, title: str, console: Console) -> list[RichTable]:
    """`table` as rich tables no wider than the console (`_parts`), each with its first
    column."""
    headers, rows = table
    out = []
    for i, part in enumerate(_parts(_widths(headers, rows), console.width)):
        cols = [0, *part]
        cells = [headers[c] for c in cols], [[r[c] for c in cols] for r in rows]
        out.append(_rich(*cells, title if i == 0 else f"{title} (continued)", console.width))
    return out


def _findings(summary: RunSummary) -> RichTable:
    """Status | sentence, the sentence wrapping under itself."""
    grid = RichTable.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, min_width=len("against"))
    grid.add_column()
    d = summary.diagnosis
    for f in d.findings:
        word, colour = STATUS.get(f.status, ("n/a", "dim"))
        grid.add_row(Text(word, style=colour), Text(f"{f.title}: {f.evidence}"))
    for f in d.causes:
        grid.add_row(Text("against"), Text(f"{f.title}: " + "; ".join(f.mitigations)))
    return grid


def print_diagnosis(s: RunSummary, console: Console) -> None:
    """One run's verdict, every finding and the mitigations against its causes."""
    colour = "red" if s.diagnosis.significant else "green"
    console.print(
        Text.assemble((s.run.name, "bold"), ": ", (s.diagnosis.verdict, colour)), highlight=False
    )
    console.print(_findings(s), highlight=False)


def print_report(report: Report, console: Console) -> None:
    for part in split_tables(key_table(report.summaries), "degradation", console):
        console.print(part)
    for s in report.summaries:
        print_diagnosis(s, console)
    for w in report.warnings:
        console.print(Text.assemble(("warning:", "yellow"), " ", w), highlight=False)
