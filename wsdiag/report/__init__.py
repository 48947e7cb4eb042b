"""The `wsdiag report` figures and documents: one module per figure family (matplotlib Agg),
HTML and Markdown rendering, and `write_report`, the entry point.

`write_report` is imported on first use, so that `wsdiag.report.choices` (what the command line
lists in --help) loads without matplotlib, scikit-learn or umap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from wsdiag.report.writer import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
