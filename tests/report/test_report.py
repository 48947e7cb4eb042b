"""wsdiag report: every figure on synthetic data, the report of tiny real runs (single and multi-run
with a Pareto front), CLI errors, and the HTML page in a real headless browser.

UMAP's first fit on a machine compiles numba code (17-60 s; later processes load it from numba's
cache), so these tests draw embeddings with the PCA path; `test_umap_embedding` runs UMAP only
with WSDIAG_SLOW_TESTS=1.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from matplotlib.image import imread
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from tests.conftest import tiny_config
from wsdiag.analysis.degradation import degradation
from wsdiag.analysis.run import PhaseSpan
from wsdiag.analysis.stats import bootstrap_ci
from wsdiag.cli.report import report
from wsdiag.config import dump_config
from wsdiag.report import write_report
from wsdiag.report.embedding import EmbeddingPanel, embed, plot_embeddings
from wsdiag.report.frozen import plot_frozen_critic, views
from wsdiag.report.landscape import plot_q_landscape
from wsdiag.report.learning_curve import CurveGroup, plot_learning_curve
from wsdiag.report.pareto import ParetoPoint, plot_pareto
from wsdiag.report.percentile import plot_percentile_histograms
from wsdiag.report.probe_series import plot_probe_series
from wsdiag.report.q_by_label import plot_q_by_label
from wsdiag.report.snapshots import Snapshot
from wsdiag.report.tables import key_table
from wsdiag.report.terminal import print_report
from wsdiag.training.experiment import Experiment

PNG = b"\x89PNG\r\n\x1a\n"
PROBES = {"every": 100, "states": 64, "n_perturb": 16, "landscape_perturb": 32}
RUN_FIGURES = (
    "probes.png", "q_landscape.png", "percentile.png", "frozen_critic.png", "q_by_label.png",
    "embedding.png",
)  # fmt: skip
PHASES = [PhaseSpan("warmup", 0, 1000), PhaseSpan("finetune", 1000, 5000)]
rng = np.random.default_rng(0)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("report")(report)


@app.callback()
def _root() -> None:
    """A local app with only the report command."""


def _png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 5_000, path


# ----------------------------------------------------------------------------- synthetic data


def _curve(dip: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    steps = np.arange(0, 5001, 250)
    r = np.random.default_rng(seed)
    values = -200 - dip * np.exp(-(((steps - 2000) / 700.0) ** 2)) * (steps > 1000)
    return steps, values + r.normal(0, 10, len(steps)) * (steps > 1000)


def _snapshot(step: int, da: int) -> Snapshot:
    n, k = 3, 60
    actions = rng.uniform(-1, 1, (n, da))
    perturbed = np.clip(actions[:, None] + rng.uniform(-0.5, 0.5, (n, k, da)), -1, 1)
    q = -((perturbed - 0.2) ** 2).sum(-1)
    arrays = {
        "landscape/actions": actions,
        "landscape/perturbed": perturbed,
        "landscape/q": q,
        "landscape/q_ref": -((actions - 0.2) ** 2).sum(-1),
        "q_percentile": rng.uniform(0.3, 0.7, 100),
        "pretrained/q_percentile": rng.uniform(0.7, 1.0, 100),
    }
    arrays |= {key: rng.normal(-10 + i, 2, 100) for i, (key, *_) in enumerate(views())}
    return Snapshot(step, "synthetic", arrays)


def _series() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    steps = np.arange(0, 5001, 500)
    ramp = np.linspace(0, 1, len(steps))
    return {
        "eval/return": _curve(800, 0),
        "probe/q_percentile": (steps, 0.5 + 0.3 * ramp),
        "probe/pretrained/q_percentile": (steps, np.full(len(steps), 0.9)),
        "probe/grad_norm/behaviour/mean": (steps, 0.05 + 3 * ramp),
        "probe/pretrained/grad_norm/behaviour/mean": (steps, np.ones(len(steps))),
        "probe/td_error/behaviour": (steps, 1 + 5 * ramp),
        "probe/td_error/online": (steps, np.full(len(steps), 0.7)),
        "probe/q/behaviour": (steps, -10 - 20 * ramp),
        "probe/q/online": (steps, -10 - 5 * ramp),
        "probe/kl/behaviour": (steps, np.r_[0, 0, 0, 10 * ramp[3:]]),
        "probe/kl/online": (steps, np.r_[0, 0, 0, 30 * ramp[3:]]),
        "probe/divergence/expert": (steps, 0.1 * ramp),
        "probe/divergence/non-expert": (steps, 0.4 * ramp),
        "train/alpha": (steps, np.exp(-3 * ramp)),
    }


def _draw_curves(path: Path) -> Path:
    three = CurveGroup("config A", [_curve(900, s) for s in range(3)], baseline=-200.0,
                       phases=PHASES, policy_start=1000, update_start=1000)  # fmt: skip
    pre = [(np.arange(-3000, 1, 500), np.linspace(-1200, -200, 7))]
    one = CurveGroup("config B", [_curve(400, 9)], pre, -200.0, PHASES, 1000, 1000, 3000)
    plot_learning_curve([one], path.with_name("single.png"))
    return plot_learning_curve([three, one], path)


def _draw_curves_with_success(path: Path) -> Path:
    steps = np.arange(0, 5001, 500)
    rates = 100 * np.clip(0.8 - 0.6 * np.exp(-(((steps - 2000) / 700.0) ** 2)), 0, 1)
    success = CurveGroup("config A", [(steps, rates)], [], 80.0, PHASES, 1000, 1000,
                         r_random=0.0, metric="success")  # fmt: skip
    one = CurveGroup("config A", [_curve(900, 0)], [], -200.0, PHASES, 1000, 1000, success=success)
    plain = CurveGroup("config B", [_curve(400, 9)], [], -200.0, PHASES, 1000, 1000)
    plot_learning_curve([one, plain], path.with_name("two.png"))
    return plot_learning_curve([one], path)


def _draw_pareto(path: Path) -> Path:
    points = [
        ParetoPoint(f"run {i}", bootstrap_ci(rng.normal(d, 50, n)),
                    bootstrap_ci(rng.normal(f, 20, n)), bootstrap_ci(rng.normal(m, 20, n)))
        for i, (d, f, m, n) in enumerate([(800, -150, -400, 3), (300, -250, -300, 1),
                                          (900, -300, -600, 2), (100, -400, -350, 1)])
    ]  # fmt: skip
    return plot_pareto(points, path)


def _draw_q_by_label(path: Path) -> Path:
    series = [
        (s, {"expert": rng.normal(-5 - s / 500, 1, 80), "non-expert": rng.normal(-8, 2, 80),
             "random": rng.normal(-12, 3, 160)})
        for s in range(0, 5001, 500)
    ]  # fmt: skip
    return plot_q_by_label(series, path, phases=PHASES, update_start=1000)


def _draw_embedding(path: Path) -> Path:
    panels = [
        EmbeddingPanel("by label", {"expert": rng.normal(0, 1, (120, 5)),
                                    "non-expert": rng.normal(2, 1, (120, 5))}),
        EmbeddingPanel("few points", {"offline": rng.normal(0, 1, (10, 5)),
                                      "online, step 9": rng.normal(1, 1, (10, 5))}),
    ]  # fmt: skip
    return plot_embeddings(panels, path, method="pca")


FIGURES = {
    "learning_curve": _draw_curves,
    "learning_curve_success": _draw_curves_with_success,
    "probe_series": lambda p: plot_probe_series(_series(), p, phases=PHASES, update_start=1000,
                                                baseline=-200.0),
    "landscape_1d": lambda p: plot_q_landscape([_snapshot(0, 1), _snapshot(900, 1)], p),
    "landscape_pca": lambda p: plot_q_landscape([_snapshot(0, 3), _snapshot(900, 3)], p),
    "percentile": lambda p: plot_percentile_histograms([_snapshot(0, 2), _snapshot(9, 2)], p),
    "frozen": lambda p: plot_frozen_critic([_snapshot(2000, 2), _snapshot(5000, 2)], p),
    "frozen_empty": lambda p: plot_frozen_critic([], p),
    "q_by_label": _draw_q_by_label,
    "embedding": _draw_embedding,
    "pareto": _draw_pareto,
}  # fmt: skip


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_on_synthetic_data_writes_a_png(name: str, tmp_path: Path) -> None:
    path = FIGURES[name](tmp_path / f"{name}.png")
    assert path == tmp_path / f"{name}.png"
    _png(path)


MAGIC = {"png": PNG, "svg": b"<?xml", "pdf": b"%PDF"}


@pytest.mark.parametrize(
    ("formats", "files", "shown"),
    [
        (("png", "svg", "pdf"), ("png", "svg", "pdf"), "png"),
        (("svg", "pdf"), ("svg", "pdf"), "svg"),
        (("pdf",), ("png", "pdf"), "png"),  # the pages need an image: the png comes too
    ],
)
def test_a_figure_is_written_in_every_format(formats, files, shown, tmp_path: Path) -> None:
    from wsdiag.report.formats import figure_formats

    with figure_formats(formats):
        path = _draw_pareto(tmp_path / "pareto.png")
    assert path == tmp_path / f"pareto.{shown}"
    assert sorted(p.suffix[1:] for p in tmp_path.iterdir()) == sorted(files)
    for fmt in files:
        assert (tmp_path / f"pareto.{fmt}").read_bytes().startswith(MAGIC[fmt]), fmt


def test_labels_of_clustered_points_do_not_overlap() -> None:
    from matplotlib.text import Text

    from wsdiag.report.labels import place_labels
    from wsdiag.report.style import new_figure

    fig = new_figure(8, 5)
    ax = fig.subplots()
    x = np.r_[rng.normal(100, 15, 12), [600, 900]]  # a tight cluster and two loners
    y = np.r_[rng.normal(-150, 10, 12), [-300, -900]]
    ax.scatter(x, y)
    ax.margins(0.15)
    texts = [f"variant {i}" for i in range(len(x))]
    labels = place_labels(ax, x, y, texts, [{"fontsize": 8}] * len(x))
    fig.canvas.draw()  # text positions of annotations are updated when drawn
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(a, renderer) for a in labels]  # the text, not its leader
    assert [a.get_text() for a in labels] == texts
    assert not any(b.overlaps(c) for i, b in enumerate(boxes) for c in boxes[i + 1 :])
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)


def test_embedding_methods() -> None:
    x = rng.normal(size=(80, 4))
    coords, used = embed(x, "pca")
    assert coords.shape == (80, 2) and used == "PCA"
    assert embed(x[:20], "auto")[1] == "PCA (fallback: 20 points, too few for UMAP)"
    assert embed(x[:, :1], "auto")[1] == "raw (1-D states)"
    with pytest.raises(ValueError, match="embedding method"):
        embed(x, "tsne")


SLOW = "UMAP's first fit on a machine compiles numba code (17-60 s): set WSDIAG_SLOW_TESTS=1"


@pytest.mark.skipif(not os.environ.get("WSDIAG_SLOW_TESTS"), reason=SLOW)
def test_umap_embedding() -> None:
    coords, used = embed(rng.normal(size=(300, 6)), "umap")
    assert used == "UMAP" and coords.shape == (300, 2) and np.isfinite(coords).all()


def test_umap_code_is_cached_on_disk() -> None:
    """Every numba function a report's UMAP fit compiles has numba's on-disk cache."""
    pytest.importorskip("umap", reason="umap-learn draws the embeddings (PCA without it)")
    from numba.core.caching import FunctionCache

    from wsdiag.report.umap_cache import CACHED, cached_dispatchers, load_umap

    load_umap()
    dispatchers = cached_dispatchers()
    assert len(dispatchers) == len(CACHED)  # every name still exists in this umap-learn
    assert all(isinstance(d._cache, FunctionCache) for d in dispatchers)


def test_learning_curve_annotation_matches_the_metrics() -> None:
    steps, values = _curve(900, 0)
    d = degradation(steps, values, -200.0, start=1000)
    assert d.min_step == 2000 and d.dip > 800


# ----------------------------------------------------------------------------- real runs


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny runs: the second fine-tunes the first's pretrained agent with another warm-up."""
    out = tmp_path_factory.mktemp("runs")
    first = Experiment.create(tiny_config(probes=PROBES), out, progress="none").run()
    other = tiny_config(
        name="tiny-b",
        probes=PROBES,
        pretrain={"source": "checkpoint", "path": str(first)},
        warmstart={"warmup_steps": 50, "freeze_policy_steps": 0},
    )
    return [first, Experiment.create(other, out, progress="none").run()]


@pytest.fixture(scope="module")
def single_report(tiny_runs: list[Path], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("report") / "single"
    args = ["report", str(tiny_runs[0]), "--out", str(out), "--embedding", "pca"]
    return out, CliRunner().invoke(app, args)


@pytest.mark.slow
def test_report_of_a_tiny_run_writes_every_file(single_report, tiny_runs: list[Path]) -> None:
    out, result = single_report
    assert result.exit_code == 0, result.output
    assert "report:" in result.stderr and "tiny-seed3" in result.stdout
    for name in ("report.html", "summary.md", "summary.json", "learning_curve.png"):
        assert (out / name).stat().st_size > 0, name
    for name in RUN_FIGURES:
        _png(out / "tiny-seed3" / name)
    summary = json.loads((out / "summary.json").read_text())
    (run,) = summary["runs"]
    assert run["degradation"]["baseline"] is not None and run["verdict"]
    assert {f["cause"] for f in run["findings"]} == {
        "extrapolation", "gradient", "update", "drift", "spiral", "closeness",
    }  # fmt: skip
    assert set(run["safety"]) == {"returns", "differences"} and summary["warnings"] == []
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 1 + len(RUN_FIGURES)
    assert "http://" not in html and "https://" not in html  # opens offline
    md = (out / "summary.md").read_text()
    assert "tiny-seed3/probes.png" in md and run["verdict"] in md
    assert run["success"] is None and "success" not in md  # Pendulum reports no success
    # outside a terminal, one plain line per figure as it starts
    figures = [line for line in result.stderr.splitlines() if line.startswith("figure ")]
    assert figures[0] == f"figure 1/{1 + len(RUN_FIGURES)}: learning_curve.png"
    assert figures[-1] == f"figure {1 + len(RUN_FIGURES)}/{1 + len(RUN_FIGURES)}: " \
        "tiny-seed3/embedding.png"  # fmt: skip


def test_quiet_report_prints_its_path_alone(tiny_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "quiet"
    args = ["report", str(tiny_runs[0]), "--out", str(out), "--no-run-figures", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out / 'report.html'}\n" and result.stderr == ""


@pytest.mark.slow
def test_multi_run_report_has_a_pareto_front(tiny_runs: list[Path], tmp_path: Path) -> None:
    rep = write_report(tiny_runs, tmp_path / "multi", embedding="pca")
    assert rep.warnings == []
    assert all(p.is_file() and p.stat().st_size > 0 for p in rep.files)
    _png(tmp_path / "multi" / "pareto.png")
    _png(tmp_path / "multi" / "tiny-b-seed3" / "learning_curve.png")
    labels = sorted(g.label for g in rep.groups)
    assert labels == [  # distinct run names are labels enough
        "tiny",
        "tiny-b",
    ]
    assert [r["name"] for r in json.loads((tmp_path / "multi" / "summary.json").read_text())[
        "runs"]] == ["tiny-seed3", "tiny-b-seed3"]  # fmt: skip


@pytest.mark.slow
def test_seeds_of_one_config_get_mean_and_pooled_safety_tables(
    tiny_runs: list[Path], tmp_path: Path
) -> None:
    twin = tmp_path / "tiny-seed4"  # the same curve again, as a second seed of "tiny"
    shutil.copytree(tiny_runs[0], twin, symlinks=True)
    config = twin / "config.toml"
    config.write_text(config.read_text().replace("seed = 3", "seed = 4", 1))
    out = tmp_path / "seeds"
    rep = write_report([tiny_runs[0], twin], out, embedding="pca")
    (group,) = rep.groups
    assert [r.name for r in group.runs] == ["tiny-seed3", "tiny-seed4"]
    summary = json.loads((out / "summary.json").read_text())
    pooled = summary["groups"][0]["safety"]
    single = summary["runs"][0]["safety"]
    assert pooled["returns"]["min"] == single["returns"]["min"]
    assert pooled["returns"]["mean"] == pytest.approx(single["returns"]["mean"])
    assert pooled["differences"]["min"] == single["differences"]["min"]
    md = (out / "summary.md").read_text()
    assert "Across seeds, mean [95% bootstrap CI]" in md and "| ΔR CVaR95 |" in md
    script = [sys.executable, "-m", "examples.compare_mitigations", str(out / "summary.json")]
    root = Path(__file__).resolve().parents[2]  # docs/results/mitigations.md's table
    table = subprocess.run(script, cwd=root, capture_output=True, text=True, check=True).stdout
    header, _, row = table.splitlines()
    low = f"{summary['runs'][0]['degradation']['min_return']:.0f}"
    assert header.startswith("| variant | R0 | dip |") and row.startswith("| tiny | ")
    assert f"| {low}, {low} |" in row


def _seed(run: Path, folder: Path, seed: int) -> Path:
    """A copy of a run as another seed of its config (the same curve again)."""
    twin = folder / f"{run.name.rsplit('-seed', 1)[0]}-seed{seed}"
    shutil.copytree(run, twin, symlinks=True)
    config = twin / "config.toml"
    config.write_text(config.read_text().replace("seed = 3", f"seed = {seed}", 1))
    return twin


def test_groups_of_seeds_get_iqm_and_probability_of_improvement(
    tiny_runs: list[Path], tmp_path: Path
) -> None:
    runs = [*tiny_runs, _seed(tiny_runs[0], tmp_path, 4), _seed(tiny_runs[1], tmp_path, 4)]
    out = tmp_path / "stats"
    rep = write_report(runs, out, embedding="pca", per_run_figures=False)
    assert [s.label for s in rep.stats] == ["tiny", "tiny-b"] and rep.stats[0].reference
    summary = json.loads((out / "summary.json").read_text())
    finals = {r["name"]: r["degradation"]["final_return"] for r in summary["runs"]}
    ref, other = summary["groups"]
    a, b = finals["tiny-seed3"], finals["tiny-b-seed3"]
    assert ref["iqm"]["final"]["value"] == pytest.approx(a)  # two equal seeds: IQM = the value
    assert ref["iqm"]["final"]["low"] == pytest.approx(a)  # and every resample gives it
    expected = 1.0 if b > a else 0.0 if b < a else 0.5
    assert other["improvement"]["reference"] == "tiny"
    assert other["improvement"]["final"]["value"] == expected
    md = (out / "summary.md").read_text()
    assert "Across seeds, rliable's aggregates" in md and "| IQM final | IQM mean |" in md
    assert "| ref | ref |" in md and f"| {expected:.2f} [{expected:.2f}, {expected:.2f}] |" in md
    assert "Agarwal et al., 2021" in (out / "report.html").read_text()


def _success_run(folder: Path, seed: int, low: float) -> Path:
    """A run directory whose success rate dips from S0 = 0.8 to `low` at step 2000, then
    recovers to 0.8 at step 3000 and ends at 0.9; its return dips from -200 to -700."""
    folder.mkdir(parents=True)
    config = tiny_config(seed=seed, warmstart={"warmup_steps": 1000, "freeze_policy_steps": 0},
                         finetune={"steps": 5000})  # fmt: skip
    (folder / "config.toml").write_text(dump_config(config))
    steps = np.arange(0, 5001, 500)
    success = np.interp(steps, [0, 1000, 2000, 3000, 5000], [0.8, 0.8, low, 0.8, 0.9])
    returns = np.interp(steps, [0, 1000, 2000, 3000, 5000], [-200, -200, -700, -250, -150])
    rows = [(0, "warmup", "eval/baseline_return", -200.0), (0, "warmup", "eval/random_return",
            -1200.0), (0, "warmup", "eval/baseline_success", 0.8)]  # fmt: skip
    for step, s, r in zip(steps, success, returns, strict=True):
        phase = "warmup" if step < 1000 else "finetune"
        rows += [(int(step), phase, "eval/success", float(s)),
                 (int(step), phase, "eval/return", float(r))]  # fmt: skip
    pd.DataFrame(rows, columns=["step", "phase", "key", "value"]).to_parquet(
        folder / "metrics.parquet"
    )
    (folder / "events.jsonl").write_text("")
    return folder


def test_the_success_rate_dip_is_tabulated_and_drawn_beside_the_return(tmp_path: Path) -> None:
    runs = [_success_run(tmp_path / f"s{k}", k, low) for k, low in ((3, 0.2), (4, 0.4))]
    rep = write_report(runs, tmp_path / "report", per_run_figures=False)
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    first = summary["runs"][0]["success"]
    assert first["baseline"] == 0.8 and first["min_return"] == pytest.approx(0.2)
    assert first["min_step"] == 2000 and first["dip"] == pytest.approx(0.6)
    assert first["dip_fraction"] == pytest.approx(0.75) and first["recovery_step"] == 3000
    assert first["final_return"] == pytest.approx(0.9)
    assert summary["runs"][1]["success"]["dip"] == pytest.approx(0.4)
    md = (tmp_path / "report" / "summary.md").read_text()
    assert "| success S0 | success min (step) | success dip | success final |" in md
    assert "| 80% | 20% (2000) | 60 pts | 90% |" in md
    assert "| 80% | 40% (2000) | 40 pts | 90% |" in md
    assert "| recovered | success dip | success final |" in md  # across seeds
    assert "| 50 pts [40 pts, 60 pts] | 90% [90%, 90%] |" in md
    (curve,) = [f for f in rep.overview if f.path.name == "learning_curve.png"]
    height, width, _ = imread(tmp_path / "report" / curve.path).shape
    assert height > 0.75 * width  # the success panel is drawn below the return's


def test_report_without_run_figures_keeps_tables_and_overview(
    tiny_runs: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "lean"
    args = ["report", *map(str, tiny_runs), "--out", str(out), "--no-run-figures"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "learning_curve.png").is_file() and (out / "pareto.png").is_file()
    assert not [p for p in out.iterdir() if p.is_dir()]  # no per-run folders
    summary = json.loads((out / "summary.json").read_text())
    assert [r["name"] for r in summary["runs"]] == ["tiny-seed3", "tiny-b-seed3"]


@pytest.mark.slow
def test_report_format_option(tiny_runs: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "formats"
    args = ["report", *map(str, tiny_runs), "--out", str(out), "--no-run-figures"]
    result = runner.invoke(app, [*args, "--format", "png,svg,pdf"])
    assert result.exit_code == 0, result.output
    for name in ("learning_curve", "pareto"):
        for fmt, magic in MAGIC.items():
            assert (out / f"{name}.{fmt}").read_bytes().startswith(magic), (name, fmt)
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 2
    svg = tmp_path / "svg"
    svg_args = ["report", *map(str, tiny_runs), "--out", str(svg), "--no-run-figures"]
    result = runner.invoke(app, [*svg_args, "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert not list(svg.glob("*.png")) and (svg / "pareto.svg").is_file()
    html, md = (svg / "report.html").read_text(), (svg / "summary.md").read_text()
    assert html.count("data:image/svg+xml;base64,") == 2 and "data:image/png" not in html
    assert "(learning_curve.svg)" in md


def test_terminal_report_fits_80_columns(tiny_runs: list[Path], tmp_path: Path) -> None:
    """Run names as long as a sweep's, three runs: no line over 80 columns, no word broken."""
    names = ["pendulum-td3-warmup-5000-ccl_pqd-seed0", "pendulum-td3-warmup-0-seed1",
             "pendulum-td3-warmup-5000-ccl_pqd-seed1"]  # fmt: skip
    dirs = [tmp_path / n for n in names]
    for source, target in zip([*tiny_runs, tiny_runs[0]], dirs, strict=True):
        shutil.copytree(source, target, symlinks=True)
    rep = write_report(dirs, tmp_path / "report", per_run_figures=False)
    rep.warnings.append("a warning long enough to wrap: " + " ".join(["probe-set"] * 12))
    headers, rows = key_table(rep.summaries)
    words = {w for text in [*headers, *(c for r in rows for c in r)] for w in text.split()}
    for s in rep.summaries:
        d = s.diagnosis
        texts = [s.run.name, d.verdict, *rep.warnings]
        texts += [f"{f.title}: {f.evidence}" for f in d.findings]
        texts += [m for f in d.causes for m in f.mitigations]
        words |= {w for text in texts for w in text.split()}

    def shown(width: int) -> list[str]:
        console = Console(width=width, file=io.StringIO(), color_system=None)
        print_report(rep, console)
        return console.file.getvalue().splitlines()

    lines = shown(80)
    assert max(cell_len(line) for line in lines) <= 80
    broken = [w for w in words if not any(w in line for line in lines)]
    assert not broken, broken
    assert any("degradation (continued)" in line for line in lines)  # the table split in two
    wide = shown(200)
    assert not any("(continued)" in line for line in wide)
    assert any(all(h in line for h in ("min (step)", "back to R0 (+steps)")) for line in wide)


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], result.stderr


def test_cli_bad_input_is_one_line_and_exit_2(tiny_runs: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    _one_line_error(runner.invoke(app, ["report", str(tmp_path / "nope")]),
                    "run directory not found")  # fmt: skip
    _one_line_error(runner.invoke(app, ["report", str(tmp_path)]),
                    "not a wsdiag run directory (no config.toml)")  # fmt: skip
    run = str(tiny_runs[0])
    for bad, text in (("jpg", "'jpg' is not one of png, svg, pdf"), ("png,,svg", "comma-separated"),
                      ("png,png", "names a format twice")):  # fmt: skip
        _one_line_error(runner.invoke(app, ["report", run, "--format", bad]), text)
    _one_line_error(runner.invoke(app, ["report", run, "--set", "diagnose.nope=1"]),
                    "unknown setting 'diagnose.nope'")  # fmt: skip


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None,
                    reason="chromium not installed (Debian: apt-get install chromium)")  # fmt: skip
def test_html_report_renders_in_headless_chromium(single_report, tmp_path: Path) -> None:
    out, result = single_report
    assert result.exit_code == 0, result.output
    shot = tmp_path / "page.png"
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--hide-scrollbars", "--window-size=1280,2000",
        f"--screenshot={shot}", (out / "report.html").resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    # not a blank page: text and figures make many distinct, non-white pixels
    assert (pixels.mean(axis=2) < 0.5).mean() > 0.005
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_a_band_of_fewer_than_five_seeds_is_their_range_and_says_so() -> None:
    from wsdiag.report.learning_curve import band_label, mean_curve

    steps = np.array([0, 100, 200])
    curves = [(steps, np.array([0.0, -v, 0.0])) for v in (10.0, 30.0)]
    _, _, band = mean_curve(curves)
    assert band is not None and band[:, 1].tolist() == [-30.0, -10.0]
    assert band_label(2) == "mean of 2 seeds, range" and band_label(5).endswith("95% CI")


def test_the_learning_curve_widens_and_lengthens_for_its_legend() -> None:
    from types import SimpleNamespace

    from wsdiag.report.learning_curve import _legend_room

    def groups(n: int, label: str) -> list:
        return [SimpleNamespace(label=label, online=[1, 2]) for _ in range(n)]

    assert _legend_room(groups(1, "plain")) == (10.0, 5.2)
    wide, tall = _legend_room(groups(12, "mine: loaded actor critic, long warm-up of 5000 steps"))
    assert wide > 12 and tall > 5.9
