"""Figure 8: the Pareto front across runs (Wexler et al., Fig. 7).

x = the dip (lower is safer), y = the final or the mean fine-tuning return (higher is better);
one point per group of seeds (mean, with 95% bootstrap whiskers when there are several). The
non-dominated points (`pareto_front`) are highlighted and joined; every point is labelled
without overlaps where there is room (`labels.place_labels`, the front's labels first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from wsdiag.analysis.pareto import pareto_front
from wsdiag.analysis.stats import Interval
from wsdiag.report.labels import place_labels
from wsdiag.report.style import new_figure, save, styled

FRONT, OTHER = "#d62728", "#8c8c8c"
FRONT_LABEL = {"fontsize": 8.5, "color": "black", "fontweight": "bold"}
OTHER_LABEL = {"fontsize": 7.5, "color": "#666666"}


@dataclass(frozen=True)
class ParetoPoint:
    label: str
    dip: Interval
    final: Interval
    mean: Interval


def _errors(values: Sequence[Interval]) -> np.ndarray | None:
    """[2, n] whisker lengths (0 where the interval is undefined)."""
    lo = np.array([v.mean - v.low if v.n > 1 else 0.0 for v in values])
    hi = np.array([v.high - v.mean if v.n > 1 else 0.0 for v in values])
    return np.nan_to_num(np.stack([lo, hi])) if (lo + hi).any() else None


Labels = tuple[np.ndarray, np.ndarray, list[str], list[dict[str, Any]], list[int]]


def _panel(ax: Axes, points: Sequence[ParetoPoint], attr: str, ylabel: str) -> Labels:
    """Draw one panel; return what `place_labels` needs once the figure is complete."""
    x = np.array([p.dip.mean for p in points])
    ys = [getattr(p, attr) for p in points]
    y = np.array([v.mean for v in ys])
    front = pareto_front(x, y)
    ax.errorbar(
        x,
        y,
        xerr=_errors([p.dip for p in points]),
        yerr=_errors(ys),
        fmt="none",
        ecolor="#bbbbbb",
        elinewidth=1,
        capsize=3,
        zorder=1,
    )
    ax.scatter(x[~front], y[~front], s=55, color=OTHER, label="dominated", zorder=2)
    ax.scatter(x[front], y[front], s=120, marker="*", color=FRONT, label="Pareto front", zorder=3)
    order = np.argsort(x[front])
    ax.step(x[front][order], y[front][order], where="post", color=FRONT, alpha=0.6, zorder=2)
    ax.set_xlabel("dip R0 − min return (return units, lower is safer)")
    ax.set_ylabel(ylabel)
    ax.margins(x=0.15, y=0.12)
    styles = [FRONT_LABEL if on_front else OTHER_LABEL for on_front in front]
    first = [*np.flatnonzero(front), *np.flatnonzero(~front)]  # the front's labels first
    return x, y, [p.label for p in points], styles, [int(i) for i in first]


@styled
def plot_pareto(points: Sequence[ParetoPoint], path: Path) -> Path:
    """Two panels: dip vs final return, dip vs mean fine-tuning return."""
    fig = new_figure(13, 5.8)
    left, right = fig.subplots(1, 2)
    labels = [
        _panel(left, points, "final", "final evaluation return"),
        _panel(right, points, "mean", "mean evaluation return after the warm-up"),
    ]
    left.set_title("Dip vs final return", loc="left")
    right.set_title("Dip vs mean return", loc="left")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    fig.suptitle("Degradation vs return across runs (one point per config, mean over seeds)")
    for ax, args in zip((left, right), labels, strict=True):
        place_labels(ax, *args)
    return save(fig, path)
