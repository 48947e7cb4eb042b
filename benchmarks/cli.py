"""Command-line speed: `wsdiag --help` against Python importing typer and rich alone, and a
one-run `wsdiag report` with UMAP's numba cache cold (emptied first) and warm (the next report).

Every command runs in a fresh process (`python -m wsdiag ...`), as a user types it. The report
is of a run of the demo config: `--report-run RUN_DIR`, else the run this section trains once
into bench-results/ (a few minutes) and reuses afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEMO_CONFIG = Path(__file__).parents[1] / "wsdiag" / "configs" / "demo.toml"
DEMO_RUN = Path("bench-results") / "runs" / "demo-pendulum-td3-seed0"


def _env() -> dict[str, str]:
    """The bench's environment, with this checkout first on the path and one OpenMP thread."""
    root = str(Path(__file__).parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def wall_seconds(args: list[str]) -> float:
    """Wall time of one run of `python args...` (fails loudly if the command fails)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, capture_output=True, env=_env())
    return time.perf_counter() - start


def best_of(args: list[str], repeats: int) -> float:
    """The least disturbed (lowest) of `repeats` wall times."""
    return min(wall_seconds(args) for _ in range(repeats))


def demo_run(given: Path | None) -> Path:
    """The run to report on: `given`, else the demo run in bench-results/ (trained, or resumed,
    until complete)."""
    from wsdiag.rundir import is_complete

    if given is not None:
        return given
    if not is_complete(DEMO_RUN):
        resume = DEMO_RUN.exists()
        args = (
            ["--resume", str(DEMO_RUN)]
            if resume
            else [str(DEMO_CONFIG), "--out", str(DEMO_RUN.parent)]
        )
        subprocess.run(
            [sys.executable, "-m", "wsdiag", "train", *args, "-q"], check=True, env=_env()
        )
    return DEMO_RUN


def run(repeats: int = 5, report_run: Path | None = None) -> dict[str, Any]:
    """`wsdiag --help` vs `import typer, rich` (best of `repeats`); a cold then a warm report."""
    from wsdiag.report.umap_cache import clear_cache

    baseline = best_of(["-c", "import typer, rich"], repeats)
    help_s = best_of(["-m", "wsdiag", "--help"], repeats)
    run_dir = demo_run(report_run)
    with tempfile.TemporaryDirectory() as tmp:
        report = ["-m", "wsdiag", "report", str(run_dir), "--quiet"]
        clear_cache()
        cold = wall_seconds([*report, "--out", str(Path(tmp) / "cold")])
        warm = wall_seconds([*report, "--out", str(Path(tmp) / "warm")])
    return {
        "import_typer_rich_s": baseline,
        "help_s": help_s,
        "help_over_import": help_s / baseline,
        "report_run": str(run_dir),
        "report_cold_s": cold,
        "report_warm_s": warm,
        "report_cold_over_warm": cold / warm,
    }
