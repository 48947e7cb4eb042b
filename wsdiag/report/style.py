"""Shared look of the report's figures: Agg figures without pyplot, phase shading, step axes.

Figures are `matplotlib.figure.Figure` objects rendered by the Agg canvas, so rendering never
touches a display or pyplot's global state. Every x axis counts environment steps since the warm
start (pretraining, when shown, at negative steps).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from wsdiag.analysis.run import PhaseSpan
from wsdiag.report.formats import written_formats

P = ParamSpec("P")
R = TypeVar("R")

PHASE_COLOURS = {
    "pretrain": "#e3e3e3",
    "warmup": "#d6e6f5",
    "freeze": "#fbe5c0",
    "finetune": "#edf6ea",
}
PHASE_NAMES = {
    "pretrain": "pretraining",
    "warmup": "warm-up (pretrained policy acts)",
    "freeze": "freeze (critic only)",
    "finetune": "fine-tune (policy updates)",
}
UPDATE_LINE = {"color": "#444444", "linestyle": "--", "linewidth": 1.0}
STEP_LABEL = "environment steps since the warm start"
DPI = 110
RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "pdf.fonttype": 42,  # TrueType in PDFs: editable text, no Type 3 fonts (which venues refuse)
}


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a figure function under the report's rcParams."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas (no pyplot, no display)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """Write `fig` at `path` in each format of the report (`formats`); returns the file the
    report's pages show (the page format's)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    files = [path.with_suffix(f".{fmt}") for fmt in written_formats()]
    with warnings.catch_warnings():  # a crowded figure keeps matplotlib's plain layout, quietly
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        for file in files:
            fig.savefig(file, dpi=DPI, facecolor="white")
    return files[0]


def format_steps(value: float, _: object = None) -> str:
    """300000 -> '300k', 1500 -> '1.5k', -2000 -> '-2k'."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def step_axis(ax: Axes, label: bool = True) -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(format_steps))
    if label:
        ax.set_xlabel(STEP_LABEL)


def shade_phases(
    ax: Axes,
    phases: Sequence[PhaseSpan],
    pretrain: int | None = None,
    update_start: int | None = None,
) -> None:
    """Shade the online phases (and pretraining at [-pretrain, 0]); dashed line at updates."""
    spans = list(phases)
    if pretrain:
        spans = [PhaseSpan("pretrain", -pretrain, 0), *spans]
    for span in spans:
        colour = PHASE_COLOURS.get(span.name, "#ffffff")
        ax.axvspan(span.start, span.end, color=colour, zorder=0, linewidth=0)
    if update_start is not None:
        ax.axvline(update_start, zorder=1, **UPDATE_LINE)


def phase_handles(phases: Sequence[PhaseSpan], pretrain: bool = False) -> list:
    """Legend entries for the shaded phases present, and the policy-update line."""
    from matplotlib.lines import Line2D

    names = (["pretrain"] if pretrain else []) + [s.name for s in phases]
    handles: list = [
        Patch(facecolor=PHASE_COLOURS[n], edgecolor="#999999", label=PHASE_NAMES[n])
        for n in dict.fromkeys(names)
        if n in PHASE_COLOURS
    ]
    handles.append(Line2D([], [], label="policy updates begin", **UPDATE_LINE))
    return handles


def note(ax: Axes, text: str) -> None:
    """An empty panel that says why it is empty."""
    ax.text(
        0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666", wrap=True
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
