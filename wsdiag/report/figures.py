"""Which figures a report draws, from which data, with their titles and captions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wsdiag.analysis.groups import Group
from wsdiag.analysis.stats import bootstrap_ci, finite
from wsdiag.analysis.summary import RunSummary
from wsdiag.report.embedding import embedding_panels, plot_embeddings
from wsdiag.report.frozen import frozen_snapshots, plot_frozen_critic
from wsdiag.report.landscape import plot_q_landscape
from wsdiag.report.learning_curve import curve_group, plot_learning_curve
from wsdiag.report.pareto import ParetoPoint, plot_pareto
from wsdiag.report.percentile import plot_percentile_histograms
from wsdiag.report.probe_series import plot_probe_series, series_of
from wsdiag.report.q_by_label import plot_q_by_label, q_by_label_series
from wsdiag.report.snapshots import snapshots


@dataclass(frozen=True)
class FigureFile:
    path: Path  # relative to the report folder
    title: str
    caption: str


@dataclass(frozen=True)
class Options:
    embedding: str = "auto"  # auto | umap | pca
    seed: int = 0
    skip: frozenset[str] = frozenset()  # file names of run figures not to draw


Draw = Callable[[RunSummary, Path, Options], Path]


def _curve(s: RunSummary, path: Path, _: Options) -> Path:
    run = s.run
    return plot_learning_curve(
        [curve_group(run.name, [run])],
        path,
        title=f"Evaluation return: {run.name}",
        ylabel=f"evaluation return (mean of {run.config.eval.episodes} episodes)",
    )


def _probes(s: RunSummary, path: Path, _: Options) -> Path:
    run = s.run
    return plot_probe_series(
        series_of(run),
        path,
        phases=run.phases,
        update_start=run.update_start,
        baseline=run.baseline,
        divergence_q=run.config.probes.divergence_q,
        title=f"Probes over the online stage: {run.name}",
    )


def _landscape(s: RunSummary, path: Path, _: Options) -> Path:
    return plot_q_landscape(snapshots(s.run, s.diagnosis.degradation), path)


def _percentile(s: RunSummary, path: Path, _: Options) -> Path:
    return plot_percentile_histograms(snapshots(s.run, s.diagnosis.degradation), path)


def _frozen(s: RunSummary, path: Path, _: Options) -> Path:
    return plot_frozen_critic(frozen_snapshots(s.run, s.diagnosis.degradation), path)


def _q_by_label(s: RunSummary, path: Path, _: Options) -> Path:
    run = s.run
    return plot_q_by_label(
        q_by_label_series(run), path, phases=run.phases, update_start=run.update_start
    )


def _embedding(s: RunSummary, path: Path, opts: Options) -> Path:
    panels = embedding_panels(s.run, s.diagnosis.degradation)
    return plot_embeddings(panels, path, method=opts.embedding, seed=opts.seed)


# (file name, title, caption, draw, needs probe files)
RUN_FIGURES: tuple[tuple[str, str, str, Draw, bool], ...] = (
    (
        "learning_curve.png",
        "Learning curve",
        "Evaluation return over pretraining (negative steps) and the online stage, phases shaded; "
        "dotted: the baseline R0; the arrow marks the dip, the diamond the return to R0.",
        _curve,
        False,
    ),
    (
        "probes.png",
        "Probes over the online stage",
        "Q-percentile of the behavioural action, ||dQ/da||, TD error and Q level offline vs "
        "online, KL drift from the pretrained policy, divergence from dataset actions.",
        _probes,
        False,
    ),
    (
        "q_landscape.png",
        "Q landscape around the behavioural action",
        "Q of perturbed actions around a_β for a few probe states (PCA to 2-D for multi-"
        "dimensional actions), a_β circled, at the warm start, before policy updates, at the dip, "
        "at the end.",
        _landscape,
        True,
    ),
    (
        "percentile.png",
        "Percentile histograms",
        "Top: P(s) over all probe states, new vs pretrained critic. Below: Q of the perturbed "
        "actions of single states with Q(s, a_β) marked and its percentile.",
        _percentile,
        True,
    ),
    (
        "frozen_critic.png",
        "Frozen-critic histograms",
        "The critic frozen when policy updates began, on behavioural (s_β) or updated-policy "
        "(s_U) states with the behavioural (π_β) or updated (π_U) policy.",
        _frozen,
        True,
    ),
    (
        "q_by_label.png",
        "Q of dataset vs random actions",
        "Median and interquartile band over training of Q on the probe set's actions (per label) "
        "and on uniformly random actions; right: the distributions before updates and at the end.",
        _q_by_label,
        True,
    ),
    (
        "embedding.png",
        "State embeddings",
        "Probe-set states by label, and behavioural (offline) vs online states at key steps, "
        "embedded in 2-D (the method is named on the figure).",
        _embedding,
        True,
    ),
)


def planned_figures(s: RunSummary, opts: Options) -> list[str]:
    """The file names of the run figures that `run_figures` draws for this run."""
    return [
        name
        for name, _, _, _, needs_probes in RUN_FIGURES
        if name not in opts.skip and (s.run.probe_steps or not needs_probes)
    ]


def run_figures(
    s: RunSummary,
    folder: Path,
    root: Path,
    opts: Options,
    warn: Callable[[str], None],
    before: Callable[[str], None] = lambda name: None,
) -> list[FigureFile]:
    """Draw a run's figures into folder, calling `before(file name)` as each starts; a figure
    that fails is reported through `warn`."""
    out = []
    planned = set(planned_figures(s, opts))
    for name, title, caption, draw, _ in RUN_FIGURES:
        if name not in planned:
            continue
        before(name)
        try:
            path = draw(s, folder / name, opts)
        except Exception as exc:  # one bad figure must not cost the whole report
            warn(f"{s.run.name}: {title} not drawn: {type(exc).__name__}: {exc}")
            continue
        out.append(FigureFile(path.relative_to(root), title, caption))
    return out


def overview_curve(groups: Sequence[Group], root: Path) -> FigureFile:
    curves = [curve_group(g.label, g.runs) for g in groups]
    path = plot_learning_curve(
        curves,
        root / "learning_curve.png",
        title="Evaluation return of every run",
        ylabel="evaluation return",
    )
    return FigureFile(
        path.relative_to(root),
        "Learning curves",
        "Every group of runs (seeds of one config: mean and 95% bootstrap band), phases "
        "shaded, baseline R0 dotted; one group: the dip and the return to R0 written, several: "
        "a triangle at each lowest return and a diamond where the return is back to R0.",
    )


def pareto_points(groups: Sequence[Group], summaries: dict[str, RunSummary]) -> list[ParetoPoint]:
    """One point per group; per run when all runs share one config."""
    if len(groups) == 1:
        units = [(s.run.name, [s]) for s in summaries.values()]
    else:
        units = [(g.label, [summaries[r.name] for r in g.runs]) for g in groups]
    points = []
    for label, members in units:
        degs = [m.diagnosis.degradation for m in members if m.diagnosis.degradation]
        if not degs:
            continue
        points.append(
            ParetoPoint(
                label,
                bootstrap_ci(finite([d.dip for d in degs])),
                bootstrap_ci(finite([d.final_return for d in degs])),
                bootstrap_ci(finite([d.mean_return for d in degs])),
            )
        )
    return points


def overview_pareto(points: Sequence[ParetoPoint], root: Path) -> FigureFile:
    path = plot_pareto(points, root / "pareto.png")
    return FigureFile(
        path.relative_to(root),
        "Pareto front",
        "Dip vs final and mean return, one point per config (mean over seeds, "
        "95% bootstrap whiskers); non-dominated points starred and joined.",
    )


def has_points(points: Sequence[ParetoPoint]) -> bool:
    return len(points) >= 2 and bool(np.isfinite([p.dip.mean for p in points]).all())
