"""Figure 7: state embeddings (TD3BC++, Fig. 9): dataset states by label; behavioural vs online.

States are standardised per feature and embedded in 2-D with UMAP (umap-learn) on exact
neighbours from scikit-learn's `NearestNeighbors` passed as `precomputed_knn` (this skips
pynndescent's index), with UMAP's numba code cached on disk (`umap_cache`: only the first report
on a machine compiles it), or with PCA: on request
(`method="pca"`), without umap-learn, or with fewer than `MIN_UMAP_POINTS` points. The figure
says which method drew it and why.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from wsdiag import probe_keys as keys
from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.run import Run
from wsdiag.report.choices import EMBEDDING_METHODS
from wsdiag.report.key_steps import key_steps
from wsdiag.report.style import new_figure, note, save, styled
from wsdiag.report.umap_cache import load_umap

METHODS = EMBEDDING_METHODS
MIN_UMAP_POINTS = 50
N_NEIGHBORS = 15
N_EPOCHS = 200  # umap-learn's default for large sets (500 below 10,000 points: 2.5x the time)
MAX_POINTS = 2000
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


@dataclass(frozen=True)
class EmbeddingPanel:
    title: str
    groups: Mapping[str, np.ndarray]  # legend name -> states [n, ds]


def embed(x: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of the rows of x and the method used, with the reason for a fallback."""
    if method not in METHODS:
        raise ValueError(f"embedding method must be one of {METHODS}, got {method!r}")
    x = StandardScaler().fit_transform(np.asarray(x, np.float64))
    if x.shape[1] < 2:
        return np.column_stack([x[:, 0], np.zeros(len(x))]), "raw (1-D states)"
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(x), "PCA"
    if len(x) < MIN_UMAP_POINTS:
        coords = PCA(n_components=2, random_state=seed).fit_transform(x)
        return coords, f"PCA (fallback: {len(x)} points, too few for UMAP)"
    try:
        umap = load_umap()
    except ImportError:
        return PCA(n_components=2).fit_transform(x), "PCA (fallback: umap-learn not installed)"
    k = min(N_NEIGHBORS, len(x) - 1)
    dist, idx = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(
            n_neighbors=k, n_epochs=N_EPOCHS, precomputed_knn=(idx, dist, None), random_state=seed
        )
        return reducer.fit_transform(x), "UMAP"


def _subsample(groups: Mapping[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    total = sum(len(v) for v in groups.values())
    if total <= MAX_POINTS:
        return dict(groups)
    rng = np.random.default_rng(seed)
    keep = MAX_POINTS / total
    return {
        k: v[rng.choice(len(v), max(1, int(len(v) * keep)), replace=False)]
        for k, v in groups.items()
    }


def embedding_panels(run: Run, deg: Degradation | None) -> list[EmbeddingPanel]:
    """Dataset states by label (probe set); behavioural states vs online states at key steps."""
    panels = []
    probe_set = run.probe_set()
    if probe_set is not None:
        labels = probe_set["labels"].astype(str)
        groups = {str(lab): probe_set["states"][labels == lab] for lab in np.unique(labels)}
        panels.append(EmbeddingPanel("Probe-set (dataset) states by label", groups))
    online: dict[str, np.ndarray] = {}
    offline = probe_set["states"] if probe_set is not None else None
    online_key, behaviour_key = keys.ONLINE_STATES.name, keys.BEHAVIOUR_STATES.name
    for step, caption in key_steps(run, deg):
        arrays = run.probe_arrays(step, (online_key, behaviour_key))
        if offline is None and behaviour_key in arrays:
            offline = arrays[behaviour_key]
        if online_key in arrays:
            online[f"online, step {step} ({caption})"] = arrays[online_key]
    if offline is not None and online:
        panels.append(
            EmbeddingPanel(
                "Offline (behavioural) vs online states",
                {"behavioural set": offline, **online},
            )
        )
    return panels


@styled
def plot_embeddings(
    panels: Sequence[EmbeddingPanel], path: Path, *, method: str = "auto", seed: int = 0
) -> Path:
    """One scatter per panel, each embedding fitted on that panel's points."""
    fig = new_figure(6.2 * max(1, len(panels)), 5.6)
    axes = fig.subplots(1, max(1, len(panels)), squeeze=False)[0]
    if not panels:
        note(axes[0], "no probe-set or online states recorded")
    for ax, panel in zip(axes, panels, strict=False):
        groups = _subsample({k: v for k, v in panel.groups.items() if len(v)}, seed)
        names = list(groups)
        coords, used = embed(np.concatenate([groups[k] for k in names]), method, seed)
        start = 0
        for i, name in enumerate(names):
            n = len(groups[name])
            colour = "#9a9a9a" if name.startswith("behaviour") else COLOURS[i % len(COLOURS)]
            ax.scatter(
                *coords[start : start + n].T,
                s=7,
                alpha=0.6,
                color=colour,
                label=f"{name} (n={n})",
                linewidths=0,
            )
            start += n
        ax.set_title(f"{panel.title}\nembedding: {used}", fontsize=10)
        ax.set_xlabel(f"{used.split()[0]} 1 (no units)")
        ax.set_ylabel(f"{used.split()[0]} 2 (no units)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, markerscale=2.5)
    fig.suptitle("State embeddings")
    return save(fig, path)
