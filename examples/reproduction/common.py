"""Reading a reproduction sweep (docs/reproduction.md): its finished runs grouped by variant,
per-run numbers, interquartile means with stratified-bootstrap intervals, and curve panels.

Every dip, lowest return and recovery is the package's (`wsdiag report` and `wsdiag diagnose`
compute the same: wsdiag.analysis.degradation from the policy start); every aggregate over
seeds is wsdiag.analysis.aggregates'."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from wsdiag.analysis.aggregates import Estimate, improvement_estimate, iqm_estimate
from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.summary import RunSummary, summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.report.learning_curve import COLOURS, mean_curve
from wsdiag.rundir import SWEEP_FILE, SWEEP_RUNS, is_complete

SEED = re.compile(r"-seed(\d+)$")


@dataclass(frozen=True)
class Figures:
    """Where one sweep's figures go: <folder>/<prefix><name>.png, linked from docs/ as
    img/reproduction/<prefix><name>.png (the prefix tells two sweeps' figures of a claim apart)."""

    folder: Path
    prefix: str = ""

    def save(self, fig: plt.Figure, name: str) -> str:
        """Write the figure, close it, and return its markdown image link."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        fig.savefig(self.folder / f"{self.prefix}{name}.png", dpi=110)
        plt.close(fig)
        return f"![{self.prefix}{name}](img/reproduction/{self.prefix}{name}.png)"


def _plan_jobs(folder: Path) -> dict[str, dict] | None:
    """The jobs of the sweep's latest plan (sweep.json) by name, None without one."""
    path = folder / SWEEP_FILE
    return json.loads(path.read_text())["jobs"] if path.exists() else None


def planned(folder: Path) -> set[str] | None:
    """The job names of the sweep's latest plan (sweep.json), None without one."""
    jobs = _plan_jobs(folder)
    return None if jobs is None else set(jobs)


def unfinished(folder: Path) -> tuple[list[str], int]:
    """(names of the fine-tuning runs of the sweep's latest plan that have not finished, the
    plan's number of fine-tuning runs); nothing without a plan."""
    jobs = _plan_jobs(folder) or {}
    runs = [name for name, job in jobs.items() if job.get("kind", "finetune") == "finetune"]
    return [n for n in runs if not is_complete(folder / SWEEP_RUNS / n)], len(runs)


def sweep_groups(folder: Path) -> dict[str, list[Run]]:
    """{variant label: its finished runs by seed} of the sweep folder <out>/<name>: the runs of
    the file as it is now (a run directory left from an earlier version of it is ignored)."""
    names = planned(folder)
    groups: dict[str, list[tuple[int, Run]]] = {}
    for path in sorted((folder / SWEEP_RUNS).glob("*-seed*")):
        match = SEED.search(path.name)
        if match is None or not is_complete(path):
            continue
        if names is not None and path.name not in names:
            continue
        groups.setdefault(SEED.sub("", path.name), []).append((int(match.group(1)), load_run(path)))
    return {k: [run for _, run in sorted(v, key=lambda p: p[0])] for k, v in groups.items()}


def value_at(run: Run, key: str, step: int) -> float:
    """The first value of `key` recorded at or after `step` (NaN when none)."""
    steps, values = run.series(key)
    after = np.nonzero(steps >= step)[0]
    return float(values[after[0]]) if len(after) else float("nan")


_SUMMARIES: dict[Path, RunSummary] = {}


def summary(run: Run) -> RunSummary:
    """The run's summary with the default thresholds (wsdiag.analysis.summary), made once."""
    if run.path not in _SUMMARIES:
        _SUMMARIES[run.path] = summarise(run, Thresholds())
    return _SUMMARIES[run.path]


def dip(run: Run) -> Degradation:
    """The run's degradation as the package measures it: from R0 at the policy start (the end
    of the warm-up), R_random as recorded (module docstring)."""
    found = summary(run).diagnosis.degradation
    if found is None:
        raise ValueError(f"{run.path}: no evaluation at or after the policy start")
    return found


def per_run(runs: Sequence[Run], fn: Callable[[Run], float]) -> np.ndarray:
    return np.array([fn(run) for run in runs], float)


def iqm_of(values: np.ndarray) -> Estimate:
    """IQM over seeds with its 95% stratified-bootstrap interval (rliable's definitions)."""
    values = np.asarray(values, float)
    return iqm_estimate(values[np.isfinite(values)])


def p_better(x: np.ndarray, y: np.ndarray) -> Estimate:
    """P(X > Y) over seeds with its 95% bootstrap interval."""
    return improvement_estimate(np.asarray(x, float), np.asarray(y, float))


def fmt(e: Estimate, digits: int = 0) -> str:
    """'value [low, high]' (the interval omitted when undefined)."""
    value = f"{e.value:.{digits}f}"
    if not np.isfinite(e.low):
        return value
    return f"{value} [{e.low:.{digits}f}, {e.high:.{digits}f}]"


def draw_curves(
    ax: Axes, groups: dict[str, Sequence[Run]], key: str, labels: dict[str, str] | None = None
) -> None:
    """Each group's mean of `key` over its seeds with its 95% bootstrap band."""
    for colour, (name, runs) in zip(COLOURS, groups.items(), strict=False):
        grid, mean, band = mean_curve([run.series(key) for run in runs])
        label = (labels or {}).get(name, name)
        ax.plot(grid, mean, color=colour, label=f"{label} ({len(runs)} seeds)")
        if band is not None:
            ax.fill_between(grid, band[0], band[1], color=colour, alpha=0.2, lw=0)
    ax.grid(alpha=0.3)
    ax.set_xlabel("online environment steps")


def seconds(folder: Path) -> float:
    """The sweep's one-thread compute: the sum of its jobs' seconds in sweep.json."""
    jobs = json.loads((folder / SWEEP_FILE).read_text())["jobs"]
    return float(sum(job.get("seconds") or 0.0 for job in jobs.values()))
