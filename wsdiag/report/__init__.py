"""The `wsdiag report` figures and documents: one module per figure family (matplotlib Agg),
HTML and Markdown rendering, and `write_report`, the entry point."""

from wsdiag.report.writer import write_report

__all__ = ["write_report"]
