"""The counterfactual figure of `wsdiag diagnose --confirm`: the original's learning curves
beside each intervention's, seeds pooled per variant (mean and 95% bootstrap band)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from wsdiag.analysis.confirm import (
    ORIGINAL,
    Confirmation,
    Intervention,
    counterfactual_dir,
    recorded_seed,
)
from wsdiag.analysis.run import Run, load_run
from wsdiag.report.figures import FigureFile
from wsdiag.report.learning_curve import curve_group, plot_learning_curve
from wsdiag.rundir import is_complete

TITLE = "Counterfactual runs from the same pretrained agent"
FIGURE_FILE = "counterfactual.png"


def plot_counterfactual(
    run_dir: Path, items: Sequence[Intervention], seeds: Sequence[int], path: Path
) -> Path:
    """Draw the original (on its own seed the recorded run, unless another trainer recorded
    it) and every tested intervention on `seeds`; variants with no finished run are left out."""
    groups, own = [], recorded_seed(run_dir)
    tested = [(i.variant, i.label) for i in items if not i.skipped]  # a cause at a strength
    for variant, label in [(ORIGINAL, "original"), *tested]:
        dirs = [counterfactual_dir(run_dir, variant, s, own) for s in seeds]
        runs = [load_run(d) for d in dirs if is_complete(d)]
        if runs:
            groups.append(curve_group(label, runs))  # the legend adds the seeds
    return plot_learning_curve(groups, path, title=TITLE)


def counterfactual_figure(
    run: Run, confirmation: Confirmation, folder: Path, root: Path, warn: Callable[[str], None]
) -> list[FigureFile]:
    """The original's curves beside each intervention's (`plot_counterfactual`), on the seeds
    the confirmation measured (the run's own first); [] when it cannot be drawn."""
    seeds = sorted({run.config.seed, *(k for i in confirmation.interventions for k in i.seeds)})
    try:
        path = plot_counterfactual(run.path, confirmation.interventions, seeds,
                                   folder / FIGURE_FILE)  # fmt: skip
    except Exception as exc:  # one bad figure must not cost the whole report
        warn(f"{run.name}: {TITLE} not drawn: {type(exc).__name__}: {exc}")
        return []
    ended = ("" if confirmation.horizon is None else
             f" The counterfactual runs stop {confirmation.horizon} steps after their policy "
             "start (the original's recovery and four evaluations); their dips, and the "
             "original's, are measured up to there.")  # fmt: skip
    caption = (f"The run ('original') and each intervention of `wsdiag diagnose --confirm`, "
               f"from the same pretrained agent, on seeds {', '.join(map(str, seeds))}: mean "
               f"and band per variant.{ended} {confirmation.verdict()}")  # fmt: skip
    return [FigureFile(path.relative_to(root), TITLE, caption)]


def confirmation_text(confirmation: Confirmation) -> tuple[str, list[str]]:
    """The confirmation's verdict and one line per intervention, its outcome included."""
    lines = [i.sentence(confirmation.min_share) for i in confirmation.interventions]
    return confirmation.verdict(), lines
