"""examples/benchmark/lead.py: a run trained again with finer evaluations keeps its training,
and its lead is read on the finer grid; a run whose training differs is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.benchmark.lead import measure, rerun
from tests.conftest import tiny_config
from wsdiag.training.experiment import Experiment


def _train(runs: Path, **sections) -> Path:
    return Experiment.create(tiny_config(**sections), runs, progress="none").run()


@pytest.mark.slow
def test_a_finer_grid_keeps_the_training_and_reads_the_lead(runs: Path, tmp_path: Path) -> None:
    original = _train(runs)
    finer = rerun(original, tmp_path / "finer", every=100)
    assert (finer / "metrics.parquet").is_file()
    warned, drop, ahead = measure(original, finer)
    if warned is not None and drop is not None:
        assert ahead == drop - warned
    other = _train(runs, name="other", seed=4, eval={"every": 100, "episodes": 1})
    with pytest.raises(SystemExit, match="differs"):
        measure(original, other)
