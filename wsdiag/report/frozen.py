"""Figure 5: the frozen critic's view (Wexler et al., Fig. 5).

A copy of the critic frozen when policy updates begin values four state/action combinations:
behavioural states s_β or states the updated policy visits s_U, with the behavioural policy π_β
or the updated policy π_U. Extrapolation error shows as Q(s_β, π_U) and Q(s_U, π_U) sitting
above what the critic ever saw (Q(s_β, π_β)) while the return falls.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wsdiag import probe_keys as keys
from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.run import Run
from wsdiag.report.key_steps import merge
from wsdiag.report.snapshots import Snapshot
from wsdiag.report.style import new_figure, note, save, styled


def views() -> tuple[tuple[str, str, str, str], ...]:
    """(array key, legend label, colour, line style) of each frozen-critic view."""
    return (
        (keys.frozen(keys.SBETA_PIBETA), "Q(s_β, π_β(s_β))", "#1f77b4", "-"),
        (keys.frozen(keys.SBETA_PIU), "Q(s_β, π_U(s_β))", "#ff7f0e", "--"),
        (keys.frozen(keys.SU_PIBETA), "Q(s_U, π_β(s_U))", "#2ca02c", "-"),
        (keys.frozen(keys.SU_PIU), "Q(s_U, π_U(s_U))", "#d62728", "--"),
    )


def frozen_snapshots(run: Run, deg: Degradation | None, limit: int = 3) -> list[Snapshot]:
    """Probe steps with frozen-critic arrays: the first, the one nearest the dip, the last."""
    names = tuple(v[0] for v in views())
    steps = [s for s in run.probe_steps if names[0] in run.probe_keys(s)]
    later = [s for s in steps if s > run.update_start]  # at update_start pi_U is still pi_beta
    steps = later or steps
    if not steps:
        return []
    chosen = [(steps[0], "first probe after updates began")]
    if deg is not None and deg.dip > 0:
        chosen.append((min(steps, key=lambda s: abs(s - deg.min_step)), "at the dip"))
    chosen.append((steps[-1], "final"))
    return [Snapshot(s, c, run.probe_arrays(s, names)) for s, c in merge(chosen)[:limit]]


@styled
def plot_frozen_critic(snapshots: Sequence[Snapshot], path: Path) -> Path:
    """One panel per snapshot: the four Q distributions of the frozen critic overlaid."""
    shown = views()
    snaps = [s for s in snapshots if all(v[0] in s.arrays for v in shown)]
    fig = new_figure(4.6 * max(1, len(snaps)) + 0.4, 4.2)
    axes = fig.subplots(1, max(1, len(snaps)), squeeze=False)[0]
    if not snaps:
        note(
            axes[0],
            "no frozen-critic arrays (no probe after policy updates began,\n"
            "or the run was resumed after that point)",
        )
    for ax, snap in zip(axes, snaps, strict=False):
        values = [snap.arrays[v[0]] for v in shown]
        bins = np.histogram_bin_edges(np.concatenate(values), bins=30)
        for v, (_, label, colour, style) in zip(values, shown, strict=True):
            ax.hist(
                v,
                bins=bins,
                histtype="step",
                linewidth=2.6 if style == "-" else 1.8,
                linestyle=style,
                color=colour,
                label=f"{label}, mean {v.mean():.3g}",
            )
        ax.set_title(snap.title, fontsize=10)
        ax.set_xlabel("Q of the frozen critic")
        ax.set_ylabel("states")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.45)
        ax.legend(loc="upper left")
    fig.suptitle(
        "Frozen critic (copied when policy updates began)\n"
        "s_β / s_U: behavioural / updated-policy states; π_β / π_U: their policies"
    )
    return save(fig, path)
