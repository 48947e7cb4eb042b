"""Figure 4: percentile histograms (Wexler et al., Fig. 4).

Top row: the distribution over all probe states of P(s), the fraction of perturbed actions that
the critic values below the behavioural action (new critic; the pretrained critic's outlined).
Lower rows: for a few states, the histogram of Q(s, a_β + eps_k) with Q(s, a_β) marked and its
percentile written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from wsdiag import probe_keys as keys
from wsdiag.report.snapshots import Snapshot
from wsdiag.report.style import new_figure, note, save, styled

BINS = np.linspace(0.0, 1.0, 21)


def _room(ax: Axes) -> None:
    """Headroom above the bars for the legend."""
    ax.set_ylim(top=ax.get_ylim()[1] * 1.4)
    ax.legend(loc="upper left")


@styled
def plot_percentile_histograms(
    snapshots: Sequence[Snapshot], path: Path, n_states: int = 2
) -> Path:
    """One column per snapshot (module docstring)."""
    p_key, pre_key = keys.Q_PERCENTILE.name, keys.pretrained(keys.Q_PERCENTILE)
    q_key, ref_key = keys.LANDSCAPE_Q.name, keys.LANDSCAPE_Q_REF.name
    snaps = [s for s in snapshots if p_key in s.arrays]
    n_land = min([n_states, *(len(s.arrays.get(q_key, [])) for s in snaps)])
    n_land = n_land if snaps else 0
    rows, cols = 1 + n_land, max(1, len(snaps))
    fig = new_figure(4.0 * cols + 0.4, 2.9 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False)
    if not snaps:
        note(axes[0, 0], f"no {p_key} arrays in the probe files")
    for j, snap in enumerate(snaps):
        a, ax = snap.arrays, axes[0, j]
        p = a[p_key]
        ax.hist(
            p, bins=BINS, color="#1f77b4", alpha=0.75, label=f"new critic (mean {p.mean():.2f})"
        )
        if pre_key in a:
            pre = a[pre_key]
            ax.hist(
                pre,
                bins=BINS,
                histtype="step",
                color="#333333",
                linewidth=1.8,
                label=f"pretrained critic (mean {pre.mean():.2f})",
            )
        ax.axvline(0.5, color="black", linestyle=":", linewidth=1)
        ax.set_title(f"{snap.title}\nP(s) over {len(p)} probe states", fontsize=10)
        ax.set_xlabel("P(s): fraction of perturbations below a_β")
        ax.set_ylabel("states")
        _room(ax)
        for i in range(n_land):
            ax = axes[1 + i, j]
            q, q_ref = a[q_key][i], float(a[ref_key][i])
            ax.hist(q, bins=30, color="#7f7f7f", alpha=0.8)
            ax.axvline(q_ref, color="#d62728", linewidth=2.2, label="Q(s, a_β)")
            share = 100 * (q < q_ref).mean()
            ax.set_title(f"probe state {i}: a_β above {share:.0f}% of them", fontsize=10)
            ax.set_xlabel("Q(s, a_β + ε) of the perturbed actions")
            ax.set_ylabel("perturbed actions")
            _room(ax)
    fig.suptitle("Percentile of the behavioural action among perturbed actions")
    return save(fig, path)
