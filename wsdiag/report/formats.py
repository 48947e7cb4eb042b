"""The file formats every figure of a report is written in (`wsdiag report --format`).

`--format png,svg,pdf` (any non-empty subset, comma-separated; default png) writes each figure
once per format, side by side (`probes.png`, `probes.svg`, `probes.pdf`). The report's pages
(report.html embeds, summary.md links) show one of them, the *page format*: png when asked for,
else svg; a pdf-only request also writes the png the pages show (a browser shows no PDF inline).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from wsdiag.errors import WsdiagError

FORMATS = ("png", "svg", "pdf")
PAGE_FORMATS = ("png", "svg")  # what report.html can embed and summary.md can show
MIME = {"png": "image/png", "svg": "image/svg+xml"}

_current: ContextVar[tuple[str, ...]] = ContextVar("figure_formats", default=("png",))


def parse_formats(text: str) -> tuple[str, ...]:
    """'png,svg' -> ('png', 'svg'): known, distinct, at least one (case and spaces ignored)."""
    names = [part.strip().lower() for part in text.split(",")]
    if not text.strip() or any(not n for n in names):
        raise WsdiagError(f"--format expects a comma-separated list of {', '.join(FORMATS)}")
    for name in names:
        if name not in FORMATS:
            raise WsdiagError(f"--format: '{name}' is not one of {', '.join(FORMATS)}")
    if len(set(names)) != len(names):
        raise WsdiagError(f"--format names a format twice: {text}")
    return tuple(names)


def page_format(formats: tuple[str, ...]) -> str:
    return next((f for f in PAGE_FORMATS if f in formats), PAGE_FORMATS[0])


def written_formats() -> tuple[str, ...]:
    """The formats of the figures being drawn now: the page format first, then the others."""
    formats = _current.get()
    page = page_format(formats)
    return (page, *(f for f in formats if f != page))


@contextmanager
def figure_formats(formats: tuple[str, ...]) -> Iterator[None]:
    """Figures saved inside the block are written in each of `formats`."""
    token = _current.set(tuple(formats))
    try:
        yield
    finally:
        _current.reset(token)
