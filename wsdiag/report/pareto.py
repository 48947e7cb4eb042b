"""Figure 8: the Pareto front across runs (Wexler et al., Fig. 7).

x = the dip (lower is safer), y = the final or the mean fine-tuning return (higher is better);
one point per group of seeds (mean, with 95% bootstrap whiskers when there are several). The
non-dominated points (`pareto_front`) are highlighted, joined and labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from wsdiag.analysis.pareto import pareto_front
from wsdiag.analysis.stats import Interval
from wsdiag.report.style import new_figure, save, styled

FRONT, OTHER = "#d62728", "#8c8c8c"


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


def _panel(ax: Axes, points: Sequence[ParetoPoint], attr: str, ylabel: str) -> None:
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
    middle = (np.nanmin(x) + np.nanmax(x)) / 2
    for i, p in enumerate(points):
        right = x[i] > middle  # labels of the right half go to the left of their point
        ax.annotate(
            p.label,
            (x[i], y[i]),
            xytext=(-7 if right else 7, 6),
            textcoords="offset points",
            ha="right" if right else "left",
            fontsize=8.5 if front[i] else 7.5,
            color="black" if front[i] else "#666666",
            fontweight="bold" if front[i] else "normal",
        )
    ax.set_xlabel("dip R0 − min return (return units, lower is safer)")
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    ax.margins(x=0.15, y=0.12)


@styled
def plot_pareto(points: Sequence[ParetoPoint], path: Path) -> Path:
    """Two panels: dip vs final return, dip vs mean fine-tuning return."""
    fig = new_figure(13, 5.4)
    left, right = fig.subplots(1, 2)
    _panel(left, points, "final", "final evaluation return")
    left.set_title("Dip vs final return", loc="left")
    _panel(right, points, "mean", "mean evaluation return after the warm-up")
    right.set_title("Dip vs mean return", loc="left")
    fig.suptitle("Degradation vs return across runs (one point per config, mean over seeds)")
    return save(fig, path)
