"""Figure 1: evaluation return over pretraining and the online stage, phases shaded.

Runs of one group (seeds of one config) are drawn as thin lines with their mean and a pointwise
95% bootstrap band (`bootstrap_band`) on the common step grid, or, with fewer than
MIN_SEEDS_FOR_CI seeds (too few for an interval to mean much), the band of their range; the
baseline R0 is a dotted line, and the dip and the recovery point of the mean curve are
annotated. When the runs recorded `eval/success`, a second panel below draws the success rate
(in %) the same way, against the pretrained policy's S0. A run's early warning ("collapse
likely", `probes.warn`) is a cross on its curve at the step it fired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from wsdiag.analysis.degradation import degradation, share_text
from wsdiag.analysis.fmt import num
from wsdiag.analysis.run import PhaseSpan, Run
from wsdiag.analysis.stats import bootstrap_band
from wsdiag.report.style import (
    format_steps,
    new_figure,
    phase_handles,
    save,
    shade_phases,
    step_axis,
    styled,
)

Curve = tuple[np.ndarray, np.ndarray]
WARNING_MARK = {"marker": "X", "markersize": 11, "mec": "black", "zorder": 6}
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")

MIN_SEEDS_FOR_CI = 5  # fewer seeds: their range is drawn, not a bootstrap interval


@dataclass
class CurveGroup:
    """Curves of one config: online (steps, returns) per run, pretraining at negative steps."""

    label: str
    online: list[Curve]
    pretrain: list[Curve] = field(default_factory=list)
    baseline: float | None = None
    phases: list[PhaseSpan] = field(default_factory=list)
    policy_start: int = 0
    update_start: int | None = None
    pretrain_length: int = 0
    r_random: float | None = None  # mean recorded eval/random_return, for the dip fraction
    success: CurveGroup | None = None  # the success rates in % (eval/success), when recorded
    metric: str = "return"  # return | success: how the curve's dip is written
    warnings: list[tuple[int, Curve]] = field(default_factory=list)  # early warning step, its run

    @property
    def symbol(self) -> str:
        return "S0" if self.metric == "success" else "R0"


def _curves(runs: Sequence[Run], key: str, scale: float) -> tuple[list[Curve], list[Curve]]:
    """(online, pretraining shifted to end at step 0) curves of `key`, values times `scale`."""
    online = [(s, scale * v) for s, v in (run.series(key) for run in runs)]
    pretrain = []
    for run in runs:
        steps, values = run.series(key, stage="pretrain")
        if len(steps) and run.pretrain_steps:
            pretrain.append((steps - run.pretrain_steps, scale * values))
    return online, pretrain


def _first_values(runs: Sequence[Run], key: str) -> float | None:
    """The mean over runs of each run's first `key` value (None when no run has one)."""
    values = [float(v[0]) for _, v in (run.series(key) for run in runs) if len(v)]
    return float(np.mean(values)) if values else None


def curve_group(label: str, runs: Sequence[Run]) -> CurveGroup:
    """The CurveGroup of runs sharing a config (pretraining shifted to end at step 0), with the
    success-rate group when any run recorded `eval/success`."""
    first = runs[0]
    timeline = {
        "phases": first.phases,
        "policy_start": first.policy_start,
        "update_start": first.update_start,
        "pretrain_length": max((run.pretrain_steps or 0 for run in runs), default=0),
    }
    success = None
    if any(run.has("eval/success") for run in runs):
        online, pretrain = _curves(runs, "eval/success", 100.0)
        s0 = _first_values(runs, "eval/baseline_success")
        success = CurveGroup(label, online, pretrain, None if s0 is None else 100.0 * s0,
                             r_random=0.0, metric="success", **timeline)  # fmt: skip
    online, pretrain = _curves(runs, "eval/return", 1.0)
    return CurveGroup(
        label,
        online,
        pretrain,
        _first_values(runs, "eval/baseline_return"),
        r_random=_first_values(runs, "eval/random_return"),
        success=success,
        warnings=[
            (int(w["step"]), curve)
            for run, curve in zip(runs, online, strict=True)
            if (w := run.collapse_warning) is not None
        ],
        **timeline,
    )


def mean_curve(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(grid, mean, band [2, n] or None) of curves interpolated onto their common step range."""
    curves = [(s, v) for s, v in curves if len(s)]
    if not curves:
        return np.zeros(0), np.zeros(0), None
    if len(curves) == 1:
        return curves[0][0], curves[0][1], None
    lo = max(s[0] for s, _ in curves)
    hi = min(s[-1] for s, _ in curves)
    grid = np.unique(np.concatenate([s[(s >= lo) & (s <= hi)] for s, _ in curves]))
    stacked = np.stack([np.interp(grid, s, v) for s, v in curves])
    if len(curves) < MIN_SEEDS_FOR_CI:
        return grid, stacked.mean(0), np.stack([stacked.min(0), stacked.max(0)])
    return grid, stacked.mean(0), np.stack(bootstrap_band(stacked))


def band_label(n: int) -> str:
    """What a group's band is: a 95% CI from MIN_SEEDS_FOR_CI seeds, their range below."""
    return f"mean of {n} seeds, 95% CI" if n >= MIN_SEEDS_FOR_CI else f"mean of {n} seeds, range"


def _annotate(
    ax: Axes, group: CurveGroup, grid: np.ndarray, mean: np.ndarray, colour: str, text: bool
) -> None:
    """Mark the lowest point (arrow from R0 and the dip written, or a triangle) and the return
    to R0 (diamond) of the mean curve."""
    if group.baseline is None or not (grid >= group.policy_start).any():
        return
    deg = degradation(grid, mean, group.baseline, start=group.policy_start, r_random=group.r_random)
    if deg.dip <= 0:
        return
    symbol = group.symbol
    if group.metric == "success":
        share = "" if deg.dip_fraction is None else f" ({100 * deg.dip_fraction:.0f}% of S0)"
        words = f"dip {num(deg.dip)} points{share}"
    else:
        words = f"dip {num(deg.dip)} ({share_text(deg, 'of ')})"
    if text:
        ax.annotate(
            "",
            xy=(deg.min_step, deg.min_return),
            xytext=(deg.min_step, deg.baseline),
            arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.6},
        )
        ax.annotate(
            words,
            (deg.min_step, deg.min_return),
            xytext=(0, -10),
            textcoords="offset points",
            ha="center",
            va="top",
            color=colour,
            fontsize=9,
            fontweight="bold",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.5},
        )
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, deg.min_return - 0.15 * (high - low)), high)  # room for the label
    else:
        ax.plot(
            deg.min_step,
            deg.min_return,
            marker="v",
            color=colour,
            markersize=10,
            mec="black",
            zorder=5,
        )
    if deg.recovery_step is not None:
        y = float(np.interp(deg.recovery_step, grid, mean))
        ax.plot(deg.recovery_step, y, marker="D", color=colour, markersize=8, mec="black", zorder=5)
        if text:
            ax.annotate(
                f"back to {symbol} at {format_steps(deg.recovery_step)}",
                (deg.recovery_step, y),
                xytext=(0, -16),
                textcoords="offset points",
                ha="right",
                color=colour,
                fontsize=9,
            )
    elif text:
        ax.text(
            0.99,
            0.02,
            f"not recovered to {symbol}",
            transform=ax.transAxes,
            ha="right",
            color=colour,
            fontsize=9,
        )


def _marker_handles(symbol: str) -> list[Line2D]:
    return [
        Line2D(
            [],
            [],
            marker="v",
            color="#777777",
            mec="black",
            linestyle="none",
            label=f"lowest {'success rate' if symbol == 'S0' else 'return'} after the warm-up",
        ),
        Line2D(
            [],
            [],
            marker="D",
            color="#777777",
            mec="black",
            linestyle="none",
            label=f"back to {symbol}",
        ),
    ]


def _baselines(ax: Axes, groups: Sequence[CurveGroup], colours: Sequence[str]) -> list[Line2D]:
    """One dotted R0 (S0) line per group, or a single black one when every group shares it."""
    values = [g.baseline for g in groups if g.baseline is not None]
    if not values:
        return []
    symbol = groups[0].symbol
    if np.ptp(values) <= 1e-9 * max(1.0, abs(values[0])):
        line = ax.axhline(
            values[0],
            color="black",
            linestyle=":",
            linewidth=1.4,
            label=f"baseline {symbol} = {num(values[0])}",
        )
        return [line]
    handles = []
    for g, colour in zip(groups, colours, strict=True):
        if g.baseline is not None:
            handles.append(
                ax.axhline(
                    g.baseline,
                    color=colour,
                    linestyle=":",
                    linewidth=1.4,
                    label=f"{symbol} of {g.label} = {num(g.baseline)}",
                )
            )
    return handles


@styled
def plot_learning_curve(
    groups: Sequence[CurveGroup],
    path: Path,
    *,
    title: str = "Evaluation return",
    ylabel: str = "evaluation return",
) -> Path:
    """Draw the groups' learning curves (module docstring). One group is annotated in words;
    several get markers at their lowest point and at their return to R0. The success-rate
    panel, when any group has one, is drawn below on the same step axis."""
    colours = [COLOURS[i % len(COLOURS)] for i in range(len(groups))]
    with_success = [(g.success, c) for g, c in zip(groups, colours, strict=True) if g.success]
    width, height = _legend_room(groups)
    if not with_success:
        fig = new_figure(width, height)
        _panel(fig.add_subplot(), groups, colours, ylabel)
    else:
        fig = new_figure(width, height + 3.0)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        _panel(top, groups, colours, ylabel, steps_label=False)
        bottom.set_ylim(-5, 105)
        success, success_colours = zip(*with_success, strict=True)
        _panel(bottom, success, success_colours, "success rate (%, at each episode's end)")
    fig.axes[0].set_title(title)
    return save(fig, path)


def _legend_room(groups: Sequence[CurveGroup]) -> tuple[float, float]:
    """Inches (width, height) that fit the plot and its legend on the right: wider for long
    group labels, taller for many groups (about 0.08 in a character, 0.26 in an entry)."""
    longest = max((len(g.label) + len(band_label(len(g.online))) + 3 for g in groups), default=0)
    entries = len(groups) + 10  # the groups, then baselines, markers and phases
    return max(10.0, 6.6 + 0.08 * longest), max(5.2, 0.26 * entries + 0.8)


def _panel(
    ax: Axes,
    groups: Sequence[CurveGroup],
    colours: Sequence[str],
    ylabel: str,
    steps_label: bool = True,
) -> None:
    """One panel of curves: phases, each group's runs, mean and band, baselines, legend."""
    same_phases = all(g.phases == groups[0].phases for g in groups)
    longest = max((g.pretrain_length for g in groups if g.pretrain), default=0)
    if same_phases:
        shade_phases(ax, groups[0].phases, int(longest), groups[0].update_start)
    elif longest:
        shade_phases(ax, [], int(longest))
    handles: list = []
    for group, colour in zip(groups, colours, strict=True):
        n = len(group.online)
        for steps, values in group.pretrain:
            ax.plot(steps, values, color=colour, linewidth=1.0, alpha=0.5)
        if n > 1:
            for steps, values in group.online:
                ax.plot(steps, values, color=colour, linewidth=0.7, alpha=0.3)
        grid, mean, band = mean_curve(group.online)
        label = group.label if n == 1 else f"{group.label} ({band_label(n)})"
        if not len(grid):
            label = f"{group.label} (pretraining only)"
        handles += ax.plot(grid, mean, color=colour, linewidth=2.2, label=label, marker=".")
        if band is not None:
            ax.fill_between(grid, band[0], band[1], color=colour, alpha=0.2, linewidth=0)
        if not same_phases and group.update_start is not None:
            ax.axvline(group.update_start, color=colour, linestyle="--", linewidth=1.0)
        _annotate(ax, group, grid, mean, colour, text=len(groups) == 1)
        for step, (steps, values) in group.warnings:
            if len(steps):
                ax.plot(step, float(np.interp(step, steps, values)), **WARNING_MARK, color=colour)
    handles += _baselines(ax, groups, colours)
    if any(g.warnings for g in groups):
        handles.append(Line2D([], [], **WARNING_MARK, color="#777777", linestyle="none",
                              label="early warning: collapse likely"))  # fmt: skip
    if len(groups) > 1:
        handles += _marker_handles(groups[0].symbol)
    if same_phases:
        handles += phase_handles(groups[0].phases, pretrain=bool(longest))
    else:
        handles.append(
            Line2D(
                [], [], color="#777777", linestyle="--", label="policy updates begin (run colour)"
            )
        )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    step_axis(ax, label=steps_label)
    if longest and steps_label:
        ax.set_xlabel("environment steps since the warm start (pretraining at negative steps)")
    ax.set_ylabel(ylabel)
