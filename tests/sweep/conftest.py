"""The sweep tests' tiny run: a Pendulum-v1 warm start recorded once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import tiny_config
from wsdiag.training.experiment import Experiment


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = tiny_config(probes={"every": 100, "states": 32, "n_perturb": 8},
                         env={"id": "Pendulum-v1", "max_episode_steps": 50})  # fmt: skip
    exp = Experiment.create(config, tmp_path_factory.mktemp("runs"), progress="none")
    exp.run()
    return exp.run_dir
