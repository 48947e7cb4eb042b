"""Figure 3: the critic's Q landscape around the behavioural action (Wexler et al., Fig. 3).

For a few probe states s (rows) at chosen steps (columns; the first is the pretrained critic
when the run recorded it), the perturbed actions a_k =
clip(a_β + eps_k) are drawn coloured by Q(s, a_k): against the action itself for 1-D actions,
else reduced to 2-D with PCA (scikit-learn) fitted on that state's perturbations. The behavioural
action a_β is circled; P (in each title) is the fraction of perturbations it beats. A good
critic makes a_β a local maximum (P near 1); a critic that knows nothing about actions gives
P near 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from wsdiag import probe_keys as keys
from wsdiag.report.snapshots import Snapshot
from wsdiag.report.style import new_figure, note, save, styled


def has_landscape(snap: Snapshot) -> bool:
    drawn = (keys.LANDSCAPE_PERTURBED, keys.LANDSCAPE_Q, keys.LANDSCAPE_Q_REF,
             keys.LANDSCAPE_ACTIONS)  # fmt: skip
    return all(k.name in snap.arrays for k in drawn)


def with_pretrained(snaps: list[Snapshot]) -> list[Snapshot]:
    """Prepend the pretrained critic's landscape (same states and perturbations), when saved."""
    q, q_ref = keys.LANDSCAPE_Q, keys.LANDSCAPE_Q_REF
    if not snaps or keys.pretrained(q) not in snaps[0].arrays:
        return snaps
    a = snaps[0].arrays
    arrays = a | {q.name: a[keys.pretrained(q)], q_ref.name: a[keys.pretrained(q_ref)]}
    return [Snapshot(snaps[0].step, "the pretrained critic", arrays), *snaps]


def _panel(
    fig: Figure, ax: Axes, perturbed: np.ndarray, q: np.ndarray, a_ref: np.ndarray, q_ref: float
) -> None:
    """One state: perturbed actions [K, da] and their Q [K]; a_ref [da] circled."""
    if perturbed.shape[1] == 1:
        order = np.argsort(perturbed[:, 0])
        ax.plot(
            perturbed[order, 0], q[order], color="#1f77b4", linewidth=1.8, marker=".", markersize=3
        )
        ref = (a_ref[0], q_ref)
        ax.set_xlabel("action a (normalised to [-1, 1])")
        ax.set_ylabel("Q(s, a)")
    else:
        pca = PCA(n_components=2).fit(perturbed)
        x, y = pca.transform(perturbed).T
        ref = tuple(pca.transform(a_ref[None])[0])
        var = 100 * pca.explained_variance_ratio_
        sc = ax.scatter(x, y, c=q, cmap="viridis", s=9, linewidths=0)
        fig.colorbar(sc, ax=ax, label="Q(s, a)", shrink=0.9, pad=0.01)
        ax.set_xlabel(f"PC1 of perturbed actions ({var[0]:.0f}% var.)")
        ax.set_ylabel(f"PC2 ({var[1]:.0f}% var.)")
    ax.scatter(
        *ref,
        s=170,
        facecolors="none",
        edgecolors="#d62728",
        linewidths=2.2,
        zorder=5,
        label="behavioural action a_β",
    )


@styled
def plot_q_landscape(snapshots: Sequence[Snapshot], path: Path, n_states: int = 3) -> Path:
    """Rows: the first `n_states` landscape states; columns: the snapshots (module docstring)."""
    perturbed_key, q_key = keys.LANDSCAPE_PERTURBED.name, keys.LANDSCAPE_Q.name
    actions_key, ref_key = keys.LANDSCAPE_ACTIONS.name, keys.LANDSCAPE_Q_REF.name
    snaps = with_pretrained([s for s in snapshots if has_landscape(s)])
    rows = max(1, min([n_states, *(len(s.arrays[q_key]) for s in snaps)]))
    cols = max(1, len(snaps))
    fig = new_figure(4.3 * cols + 0.5, 3.3 * rows + 0.7)
    axes = fig.subplots(rows, cols, squeeze=False)
    if not snaps:
        note(axes[0, 0], "no landscape arrays in the probe files")
    for j, snap in enumerate(snaps):
        a = snap.arrays
        for i in range(rows):
            ax = axes[i, j]
            _panel(
                fig,
                ax,
                a[perturbed_key][i],
                a[q_key][i],
                a[actions_key][i],
                float(a[ref_key][i]),
            )
            q, q_ref = a[q_key][i], float(a[ref_key][i])
            head = f"{snap.title}\n" if i == 0 else ""
            ax.set_title(f"{head}probe state {i}: P = {(q < q_ref).mean():.2f}", fontsize=10)
    if snaps:
        axes[0, 0].legend(loc="lower left")
    colour = "" if not snaps or snaps[0].arrays[perturbed_key].shape[2] == 1 else " (colour: Q)"
    fig.suptitle(
        f"Q landscape around the behavioural action{colour}\n"
        "P = share of perturbed actions valued below a_β"
    )
    return save(fig, path)
