"""`write_report`: read run directories, compute every metric, draw every figure, write files.

The report folder holds report.html (self-contained: figures embedded, no network), summary.md,
summary.json (every number, machine-readable), learning_curve.png and, with two or more runs,
pareto.png, and one folder per run with its figures; each figure in every format asked for
(`formats`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wsdiag import __version__
from wsdiag.analysis.confirm import FOLDER, Confirmation, load_confirmation
from wsdiag.analysis.group_stats import group_stats
from wsdiag.analysis.groups import group_runs
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.atomic import atomic_write_text
from wsdiag.errors import WsdiagError
from wsdiag.report.counterfactual import FIGURE_FILE as COUNTERFACTUAL_FIGURE
from wsdiag.report.counterfactual import counterfactual_figure
from wsdiag.report.figures import (
    Options,
    has_points,
    overview_curve,
    overview_pareto,
    pareto_points,
    planned_figures,
    run_figures,
)
from wsdiag.report.formats import figure_formats
from wsdiag.report.html import render_html
from wsdiag.report.markdown import render_markdown
from wsdiag.report.model import HTML_FILE, JSON_FILE, MARKDOWN_FILE, Report
from wsdiag.report.progress import FigureProgress
from wsdiag.report.tables import group_safety
from wsdiag.rundir import expand_sweeps


def load_runs(run_dirs: Sequence[Path]) -> list[Run]:
    """Load each run once; names made unique with the parent folder (then a counter)."""
    if not run_dirs:
        raise WsdiagError("give at least one run directory")
    runs: list[Run] = []
    seen_paths: set[Path] = set()
    for path in run_dirs:
        resolved = Path(path).resolve()
        if resolved in seen_paths:
            continue
        seen_paths.add(resolved)
        run = load_run(path)
        names = {r.name for r in runs}
        if run.name in names:
            run.name = f"{resolved.parent.name}-{run.name}"
        base, n = run.name, 1
        while run.name in names:
            n += 1
            run.name = f"{base}-{n}"
        runs.append(run)
    return runs


def default_out(run_dirs: Sequence[Path]) -> Path:
    """RUN_DIR/report for one run or one sweep folder, ./report for several."""
    return Path(run_dirs[0]) / "report" if len(run_dirs) == 1 else Path("report")


def write_report(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    thresholds: Thresholds | None = None,
    r_random: float | None = None,
    embedding: str = "auto",
    seed: int = 0,
    per_run_figures: bool = True,
    formats: Sequence[str] = ("png",),
    progress: FigureProgress | None = None,
    reference: str | None = None,
) -> Report:
    """Write the report of the runs into `out` (module docstring) and return its contents.

    `per_run_figures=False` skips each run's folder of figures (the bulk of the time for many
    runs); the tables, verdicts and cross-run figures are written all the same. `formats`
    (of png, svg, pdf) are the files of every figure; the pages show png, else svg. `progress`
    is called as each figure starts, with the figures done, their total and the one drawn next
    (relative to `out`), and once at the end with an empty name.
    """
    start = time.perf_counter()
    given = [Path(p) for p in run_dirs]
    dirs = expand_sweeps(given)  # a sweep folder stands for its runs
    runs = load_runs(dirs)
    out = Path(out) if out is not None else default_out(given)
    th = thresholds or Thresholds()
    summaries = [summarise(run, th, r_random) for run in runs]
    report = Report(out, summaries, group_runs(runs), th)
    report.stats = group_stats(report.groups, report.by_name, seed, reference)
    try:  # after every check of the input: a refused report leaves no folder
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WsdiagError(f"cannot create the report folder {out}: {exc.strerror}") from exc
    report.warnings += [f"{run.name}: {message}" for run in runs for message in run.warnings]
    report.confirmations = confirmations(runs, report.warnings.append)
    with figure_formats(tuple(formats)):
        points = pareto_points(report.groups, report.by_name)
        single = frozenset({"learning_curve.png"}) if len(runs) == 1 else frozenset()  # = overview
        opts = Options(embedding=embedding, seed=seed, skip=single)
        drawn = summaries if per_run_figures else []
        plan = ["learning_curve.png", *(["pareto.png"] if has_points(points) else [])]
        plan += [f"{_slug(s.run.name)}/{name}" for s in drawn for name in planned_figures(s, opts)]
        plan += [f"{_slug(s.run.name)}/{COUNTERFACTUAL_FIGURE}" for s in drawn
                 if s.run.name in report.confirmations]  # fmt: skip
        tick = _ticker(progress, len(plan))
        tick(plan[0])
        report.overview.append(overview_curve(report.groups, out))
        if has_points(points):
            tick(plan[1])
            report.overview.append(overview_pareto(points, out))
        for s in drawn:
            folder = out / _slug(s.run.name)
            before = lambda name, f=folder.name: tick(f"{f}/{name}")  # noqa: E731
            figures = run_figures(s, folder, out, opts, report.warnings.append, before=before)
            confirmation = report.confirmations.get(s.run.name)
            if confirmation is not None:
                before(COUNTERFACTUAL_FIGURE)
                figures += counterfactual_figure(s.run, confirmation, folder, out,
                                                 report.warnings.append)  # fmt: skip
            report.run_figures[s.run.name] = figures
        tick("")
    atomic_write_text(out / JSON_FILE, json.dumps(summary_json(report), indent=1, default=str))
    atomic_write_text(out / MARKDOWN_FILE, render_markdown(report))
    atomic_write_text(out / HTML_FILE, render_html(report))
    report.seconds = time.perf_counter() - start
    return report


def _ticker(progress: FigureProgress | None, total: int) -> Callable[[str], None]:
    """`tick(name)`: report the figure `name` as the next one (done = the ticks before it)."""
    done = -1

    def tick(name: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, name)

    return tick


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def confirmations(runs: Sequence[Run], warn: Callable[[str], None]) -> dict[str, Confirmation]:
    """Each run's saved `wsdiag diagnose --confirm` result, by run name; a damaged one is
    reported through `warn` and left out."""
    out = {}
    for run in runs:
        try:
            found = load_confirmation(run.path / FOLDER)
        except WsdiagError as exc:
            warn(f"{run.name}: {exc}")
            continue
        if found is not None:
            out[run.name] = found
    return out


def summary_json(report: Report) -> dict[str, Any]:
    """Every number of the report: per run degradation, safety table, findings, verdict; per
    group (the seeds of one config) its runs, the pooled safety table and, with two or more
    seeds, rliable's aggregates (IQM, P(X > reference), each {value, low, high, n})."""
    runs = []
    for s in report.summaries:
        d = s.diagnosis
        runs.append({
            "name": s.run.name,
            "path": str(s.run.path),
            "group": next(g.label for g in report.groups if s.run in g.runs),
            "r_random": s.r_random,
            "r_random_source": s.r_random_source,
            "degradation": d.degradation.as_dict() if d.degradation else None,
            "success": s.success.as_dict() if s.success else None,
            "safety": None if (table := s.safety) is None else table.to_dict(orient="index"),
            "significant": d.significant,
            "verdict": d.verdict,
            "causes": [f.cause for f in d.causes],
            "confirmation": None if (c := report.confirmations.get(s.run.name)) is None
            else c.to_json(),
            "findings": [
                {"cause": f.cause, "status": f.status, "evidence": f.evidence,
                 "numbers": f.numbers, "mitigations": list(f.mitigations)}
                for f in d.findings
            ],
        })  # fmt: skip
    stats = {s.label: s for s in report.stats}
    groups = []
    for g in report.groups:
        entry: dict[str, Any] = {
            "label": g.label,
            "runs": [r.name for r in g.runs],
            "safety": group_safety(g, report.by_name).to_dict(orient="index"),
        }
        if (s := stats.get(g.label)) is not None:
            entry["iqm"] = {col: asdict(e) for col, e in s.iqm.items()}
            entry["improvement"] = {
                "reference": next(r.label for r in report.stats if r.reference),
                **{col: asdict(e) for col, e in s.improvement.items()},
            }
        groups.append(entry)
    return {
        "wsdiag": __version__,
        "created": report.created,
        "thresholds": asdict(report.thresholds),
        "runs": runs,
        "groups": groups,
        "warnings": report.warnings,
    }
