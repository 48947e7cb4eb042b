"""A smoke run on a Gymnasium-Robotics task: the sparse Adroit door (needs the robotics extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from wsdiag.cli.main import app
from wsdiag.config import load_config
from wsdiag.rundir import read_metrics

pytest.importorskip(
    "gymnasium_robotics", reason="needs gymnasium-robotics: pip install -e '.[robotics]'"
)

HORIZON = 200  # AdroitHandDoor-v1's time limit
DOOR = Path(__file__).parent.parent / "examples" / "robotics" / "adroit_door_sparse.toml"
TINY = {  # online TD3 pretraining instead of the example's dataset, a few hundred steps
    "pretrain.source": '"online"', "pretrain.algo": '"td3"', "pretrain.steps": 300,
    "pretrain.learning_starts": 100, "pretrain.hidden": "[16,16]", "finetune.hidden": "[16,16]",
    "pretrain.batch_size": 32, "finetune.batch_size": 32, "warmstart.warmup_steps": 100,
    "finetune.steps": 300, "eval.every": 300, "eval.episodes": 1, "probes.every": 0,
    "probes.states": 32, "checkpoint.every": 0, "threads": 1,
}  # fmt: skip


def test_the_sparse_adroit_door_trains_and_records_success(tmp_path: Path) -> None:
    args = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    result = CliRunner().invoke(app, ["train", str(DOOR), "--out", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    assert "│ success │" in result.stdout.replace("┃", "│")  # the summary table's column
    (run_dir,) = tmp_path.iterdir()
    config = load_config(run_dir / "config.toml")
    assert config.env.kwargs == {"reward_type": "sparse"}
    assert config.env.imports == ("gymnasium_robotics",)
    frame = read_metrics(run_dir)
    returns = frame[frame.key == "eval/return"].value.to_numpy()
    # sparse: 10 at each of k steps with the door open, -0.1 at the other 200 - k
    opened = (returns + 0.1 * HORIZON) / 10.1
    assert len(returns) == 3 and np.allclose(opened, opened.round(), atol=1e-6)
    success = frame[frame.key == "eval/success"]
    assert len(success) == len(returns) and success.value.between(0, 1).all()
    assert len(frame[frame.key == "eval/baseline_success"]) == 1
