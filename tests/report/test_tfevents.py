"""TensorBoard event files: read back by TensorBoard's own reader, equal to metrics.parquet."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import tiny_config
from wsdiag.cli.main import app
from wsdiag.errors import WsdiagError
from wsdiag.rundir import METRICS_FILE, SWEEP_FILE, SWEEP_RUNS, TENSORBOARD_DIR, read_metrics
from wsdiag.tfevents import EVENTS_NAME, crc32c, stage_of, write_event_files
from wsdiag.training.recorder import Recorder

accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="reading event files back needs the tensorboard extra (pip install wsdiag[tensorboard])",
)


def _read(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} as TensorBoard loads folder's event files."""
    acc = accumulator.EventAccumulator(str(folder), size_guidance={accumulator.SCALARS: 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def _expected(rows, stage: str) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for step, phase, key, value in rows:
        if stage_of(phase) == stage:
            out.setdefault(key, []).append((int(step), float(np.float32(value))))
    return out


def _assert_equal(read: dict, expected: dict) -> None:
    assert read.keys() == expected.keys()
    for tag, points in expected.items():
        steps, values = zip(*read[tag], strict=True)
        assert list(steps) == [s for s, _ in points], tag
        np.testing.assert_array_equal(values, [v for _, v in points], err_msg=tag)


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value of CRC-32C
    assert crc32c(b"") == 0


ROWS = [
    (0, "pretrain", "eval/return", -1200.5),
    (100, "pretrain", "eval/return", -900.25),
    (100, "pretrain", "train/critic_loss", 3.0e-3),
    (0, "warmup", "eval/return", -300.0),
    (50, "freeze", "eval/return", -350.0),
    (200, "finetune", "eval/return", -150.125),
    (200, "finetune", "probe/q_percentile", 0.42),
]


def test_event_files_per_stage_read_back_by_tensorboard(tmp_path: Path) -> None:
    files = write_event_files(ROWS, tmp_path, wall_time=1.7e9)
    assert files == [tmp_path / "pretrain" / EVENTS_NAME, tmp_path / "online" / EVENTS_NAME]
    for stage in ("pretrain", "online"):  # the two stages never share a step axis
        _assert_equal(_read(tmp_path / stage), _expected(ROWS, stage))
    assert _read(tmp_path / "online")["eval/return"] == [(0, -300.0), (50, -350.0), (200, -150.125)]


def test_recorder_mirrors_parquet_through_flush_truncate_and_resume(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, tensorboard=True)
    for step in range(0, 500, 100):
        rec.log(step, "pretrain", {"eval/return": -1000.0 + step})
    rec.log(0, "warmup", {"eval/return": -400.0, "train/q": 1.0})
    rec.flush()
    rec.log(100, "finetune", {"eval/return": -250.0})
    rec.flush()  # appended to the open file
    rec.log(200, "finetune", {"eval/return": -200.0})
    rec.flush()
    assert rec.truncate(["warmup", "freeze", "finetune"], 100) == 1  # a resume at step 100
    rec.flush()
    again = Recorder(tmp_path, tensorboard=True)  # a new process: rows read back from parquet
    again.log(200, "finetune", {"eval/return": -190.0})
    again.flush()
    rows = list(read_metrics(tmp_path).itertuples(index=False, name=None))
    assert rows[-1] == (200, "finetune", "eval/return", -190.0)
    for stage in ("pretrain", "online"):
        _assert_equal(_read(tmp_path / TENSORBOARD_DIR / stage), _expected(rows, stage))


def test_tensorboard_off_writes_no_event_file(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.log(0, "warmup", {"eval/return": 1.0})
    rec.flush()
    assert (tmp_path / METRICS_FILE).is_file() and not (tmp_path / TENSORBOARD_DIR).exists()


def test_config_field_is_checked() -> None:
    assert tiny_config(log={"tensorboard": True}).log.tensorboard
    with pytest.raises(WsdiagError, match=r"log\.tensorboard: expected true or false"):
        tiny_config(log={"tensorboard": "yes"})


@pytest.fixture(scope="module")
def tb_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from wsdiag.training.experiment import Experiment

    config = tiny_config(log={"tensorboard": True}, probes={"every": 0})
    out = tmp_path_factory.mktemp("runs")
    return Experiment.create(config, out, progress="none").run()


def test_a_run_with_tensorboard_writes_every_metric(tb_run: Path) -> None:
    rows = list(read_metrics(tb_run).itertuples(index=False, name=None))
    for stage in ("pretrain", "online"):
        expected = _expected(rows, stage)
        assert "eval/return" in expected
        _assert_equal(_read(tb_run / TENSORBOARD_DIR / stage), expected)


def test_export_command_converts_a_run_and_a_sweep(tb_run: Path, tmp_path: Path) -> None:
    rows = list(read_metrics(tb_run).itertuples(index=False, name=None))
    dest = tmp_path / "tb"
    result = CliRunner().invoke(app, ["export", str(tb_run), "--tensorboard", str(dest)])
    assert result.exit_code == 0, result.output
    for stage in ("pretrain", "online"):
        _assert_equal(_read(dest / tb_run.name / stage), _expected(rows, stage))

    sweep = tmp_path / "sweep"  # a sweep folder: sweep.json and its runs/
    for name in ("a-seed0", "b-seed0"):
        shutil.copytree(tb_run, sweep / SWEEP_RUNS / name, symlinks=True)
    (sweep / SWEEP_FILE).write_text(json.dumps({}))
    result = CliRunner().invoke(app, ["export", str(sweep), "--tensorboard", str(dest)])
    assert result.exit_code == 0, result.output
    for name in ("a-seed0", "b-seed0"):
        _assert_equal(_read(dest / name / "online"), _expected(rows, "online"))


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], result.stderr


def test_export_errors_are_one_line_and_exit_2(tb_run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    dest = str(tmp_path / "tb")
    _one_line_error(runner.invoke(app, ["export", str(tmp_path / "nope"), "--tensorboard", dest]),
                    "run directory not found")  # fmt: skip
    _one_line_error(runner.invoke(app, ["export", str(tmp_path), "--tensorboard", dest]),
                    "not a run directory")  # fmt: skip
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(tb_run / "config.toml", unfinished / "config.toml")
    _one_line_error(runner.invoke(app, ["export", str(unfinished), "--tensorboard", dest]),
                    "has no metrics.parquet yet")  # fmt: skip
    missing = runner.invoke(app, ["export", str(tb_run)])
    assert missing.exit_code == 2 and "--tensorboard" in missing.output
