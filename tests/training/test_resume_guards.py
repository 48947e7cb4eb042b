"""Resuming a run: its metric history must be whole, and what it recorded is not recorded twice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import one_line_error, tiny_config
from tests.training.test_experiment import _Crash
from wsdiag.config import Config
from wsdiag.errors import WsdiagError
from wsdiag.rundir import METRICS_FILE
from wsdiag.training.experiment import Experiment
from wsdiag.training.recorder import Recorder, read_metrics


def _interrupted(config: Config, runs: Path, step: int) -> Path:
    """A run killed at online step `step` (its latest checkpoint at step 200)."""
    exp = Experiment.create(config, runs, progress="none", callbacks=[_Crash(step)])
    with pytest.raises(KeyboardInterrupt):
        exp.run()
    return exp.run_dir


def _resume(run_dir: Path) -> Path:
    return Experiment.resume(run_dir, progress="none").run()


# ----------------------------------------------------------------------------- history


def test_a_resume_without_its_metrics_is_refused_in_one_line(tiny: Config, runs: Path) -> None:
    from wsdiag.cli.main import app

    run_dir = _interrupted(tiny, runs, 330)
    (run_dir / METRICS_FILE).unlink()
    result = CliRunner().invoke(app, ["train", "--resume", str(run_dir)])
    one_line_error(result, 2, f"from step_200 (step 200): {METRICS_FILE} is missing")
    with pytest.raises(WsdiagError, match=f"{METRICS_FILE} holds 0 of the"):
        _resume(run_dir)  # and again, once the refused attempt has written its empty table
    assert not (run_dir / "checkpoints" / "step_400").exists()


def test_a_resume_whose_metrics_stop_before_its_checkpoint_is_refused(
    tiny: Config, runs: Path
) -> None:
    run_dir = _interrupted(tiny, runs, 330)
    frame = read_metrics(run_dir)
    older = frame[(frame.phase == "pretrain") | (frame.step <= 100)]  # an older copy
    older.to_parquet(run_dir / METRICS_FILE, index=False)
    with pytest.raises(WsdiagError, match=r"holds 0 of the 1 'rollout/return' rows the online"):
        _resume(run_dir)
    assert len(read_metrics(run_dir)) == len(older)  # nothing more lost


def test_a_resume_with_its_history_whole_continues(tiny: Config, runs: Path) -> None:
    run_dir = _interrupted(tiny, runs, 330)
    _resume(run_dir)
    frame = read_metrics(run_dir)
    online = frame[frame.phase != "pretrain"]
    assert online.step.max() == 400
    assert not online.duplicated(["step", "phase", "key"]).any()


# ----------------------------------------------------------------------------- recorded once


def _mitigation_rows(run_dir: Path, up_to: int) -> pd.DataFrame:
    frame = read_metrics(run_dir)
    rows = frame[frame.key.str.startswith("mitigation/") & (frame.step <= up_to)]
    return rows.reset_index(drop=True)


@pytest.mark.parametrize(
    "mitigation",
    [
        {"name": "lr_scale"},
        {"name": "ccl_pqd", "ccl_pqd": {"every": 50}},
        {"name": "jsrl", "jsrl": {"eval_every": 100, "eval_episodes": 1, "stages": 2}},
    ],
    ids=lambda m: m["name"],
)
@pytest.mark.slow
def test_a_resume_right_after_a_checkpoint_records_no_mitigation_row_twice(
    mitigation: dict, runs: Path
) -> None:
    import wsdiag.mitigations  # noqa: F401  (installs the mitigation checks)

    config = tiny_config(mitigation=mitigation)
    run_dir = _interrupted(config, runs, 201)
    _resume(run_dir)
    frame = read_metrics(run_dir)
    assert not frame.duplicated(["step", "phase", "key"]).any()
    clean = Experiment.create(config, runs, progress="none").run()
    resumed, uninterrupted = _mitigation_rows(run_dir, 200), _mitigation_rows(clean, 200)
    assert len(uninterrupted) > 0
    pd.testing.assert_frame_equal(resumed, uninterrupted)


def test_the_recorder_skips_only_repeated_values_at_the_resumed_step(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.log(0, "warmup", {"mitigation/alpha": 0.5, "mitigation/lr": 1e-4})
    rec.log(200, "finetune", {"mitigation/alpha": 0.25, "eval/return": -3.0})
    rec.log(300, "finetune", {"mitigation/alpha": 0.125})
    rec.resume(("warmup", "finetune"), 200)
    rec.log(200, "finetune", {"mitigation/alpha": 0.25, "mitigation/lr": 1e-4, "x": 1.0})
    rec.log(200, "finetune", {"mitigation/horizon": 7.0})  # new at this step: recorded
    rec.log(201, "finetune", {"mitigation/alpha": 0.25})  # past the resumed step: recorded
    rec.log(202, "finetune", {"mitigation/alpha": 0.25})
    assert [(s, k) for s, _, k, _ in rec.rows[4:]] == [
        (200, "x"),
        (200, "mitigation/horizon"),
        (201, "mitigation/alpha"),
        (202, "mitigation/alpha"),
    ]
