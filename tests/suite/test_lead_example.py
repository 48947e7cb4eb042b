"""examples/benchmark/lead.py: a run trained again with finer evaluations keeps its training,
and its lead is read on the finer grid; a run whose training differs is refused, in one line
with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.benchmark.lead import measure, rerun
from tests.conftest import tiny_config
from wsdiag.analysis.run import load_run
from wsdiag.training.experiment import Experiment


def _train(runs: Path, **sections) -> Path:
    return Experiment.create(tiny_config(**sections), runs, progress="none").run()


@pytest.mark.slow
def test_a_finer_grid_keeps_the_training_and_reads_the_lead(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = load_run(_train(runs))
    finer = rerun(original, tmp_path / "finer", every=100)
    steps = sorted(finer.metrics[finer.metrics.key == "eval/return"].step.unique())
    assert {100, 300}.issubset(steps)  # the finer grid: the original evaluates every 200
    assert rerun(original, tmp_path / "finer", every=100).path == finer.path  # reused
    warned, drop, ahead = measure(original, finer)
    assert warned == original.warning_step
    assert ahead == (None if warned is None or drop is None else drop - warned)
    other = load_run(_train(runs, name="other", seed=4, eval={"every": 100, "episodes": 1}))
    with pytest.raises(SystemExit) as exit_:
        measure(original, other)
    assert exit_.value.code == 2
    assert "its training differs" in capsys.readouterr().err
