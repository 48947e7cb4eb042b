"""Figure 6: Q of dataset actions vs random actions over training (TD3BC++, Fig. 6).

At every probe step the critic values the probe set's actions (per label: `behaviour`, or a
dataset's `expert` / `non-expert`) and uniformly random actions on the same states. Left: the
median and interquartile band of each distribution over training; right: the histograms before
policy updates and at the end. A critic that values random actions as highly as the dataset's
cannot guide the actor away from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wsdiag import probe_keys as keys
from wsdiag.analysis.run import PhaseSpan, Run
from wsdiag.report.style import new_figure, note, save, shade_phases, step_axis, styled

Distributions = tuple[int, dict[str, np.ndarray]]


def q_by_label_series(run: Run) -> list[Distributions]:
    """(step, {label: Q values}) for every probe step, `random` included."""
    out = []
    for step in run.probe_steps:
        found = [(k, keys.Q_BY_LABEL.member(k)) for k in run.probe_keys(step)]
        labels = {k: label for k, label in found if label is not None}
        if labels:
            arrays = run.probe_arrays(step, tuple(labels))
            out.append((step, {labels[k]: v for k, v in arrays.items()}))
    return out


def _colour(label: str, i: int) -> str:
    return (
        "#7f7f7f" if label == keys.RANDOM else ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd")[i % 4]
    )


@styled
def plot_q_by_label(
    series: Sequence[Distributions],
    path: Path,
    *,
    phases: Sequence[PhaseSpan] = (),
    update_start: int | None = None,
) -> Path:
    """Ribbons over training and two snapshot histograms (module docstring)."""
    fig = new_figure(13, 4.6)
    left, right = fig.subplots(1, 2, width_ratios=[1.7, 1])
    if not series:
        note(left, "no q_by_label arrays in the probe files")
        right.set_visible(False)
        return save(fig, path)
    labels = sorted({k for _, d in series for k in d}, key=lambda k: (k == keys.RANDOM, k))
    colours = {k: _colour(k, i) for i, k in enumerate(labels)}
    shade_phases(left, phases, update_start=update_start)
    for label in labels:
        pts = [(s, d[label]) for s, d in series if label in d and len(d[label])]
        steps = np.array([s for s, _ in pts])
        q = np.array([np.percentile(v, [25, 50, 75]) for _, v in pts])
        name = "random actions" if label == keys.RANDOM else f"dataset actions: {label}"
        left.plot(steps, q[:, 1], color=colours[label], marker=".", linewidth=2, label=name)
        left.fill_between(steps, q[:, 0], q[:, 2], color=colours[label], alpha=0.2, linewidth=0)
    left.set_title("Median and interquartile range over training", loc="left")
    left.set_ylabel("Q(s, a) on probe states")
    step_axis(left)
    left.legend(loc="best")
    before = [p for p in series if update_start is None or p[0] <= update_start]
    moments = {(before or series)[-1][0]: "before updates", series[-1][0]: "final"}
    for (step, caption), style in zip(moments.items(), ("dashed", "solid"), strict=False):
        dists = dict(series)[step]
        bins = np.histogram_bin_edges(np.concatenate(list(dists.values())), bins=40)
        for label, values in dists.items():
            right.hist(
                values,
                bins=bins,
                histtype="step",
                linewidth=1.8,
                linestyle=style,
                color=colours[label],
                label=f"{label}, step {step} ({caption})",
            )
    right.set_title("Before updates (dashed) vs final (solid)", loc="left")
    right.set_xlabel("Q(s, a)")
    right.set_ylabel("states")
    right.set_ylim(top=right.get_ylim()[1] * 1.4)
    right.legend(loc="upper left", fontsize=8)
    fig.suptitle("Q of dataset actions vs uniformly random actions")
    return save(fig, path)
