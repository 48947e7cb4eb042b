"""Recorder: long-form metrics, events, atomic writes, truncation for resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wsdiag.atomic import atomic_write
from wsdiag.training.recorder import Recorder, read_events, read_metrics


def test_metrics_and_events_round_trip(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.log(10, "pretrain", {"eval/return": -3.5, "train/critic_loss": 0.25})
    rec.log(20, "finetune", {"eval/return": -1.0})
    rec.event("phase", phase="finetune", step=20)
    rec.flush()
    frame = read_metrics(tmp_path)
    assert list(frame.columns) == ["step", "phase", "key", "value"]
    assert frame.value.tolist() == [-3.5, 0.25, -1.0]
    assert read_events(tmp_path)[0]["phase"] == "finetune"
    again = Recorder(tmp_path)  # reopening keeps what was written
    assert len(again.rows) == 3 and len(again.events) == 1


def test_truncate_drops_only_later_rows_of_the_stage(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.log(500, "pretrain", {"k": 1})
    for step in (100, 200, 300):
        rec.log(step, "finetune", {"k": step})
    assert rec.truncate(("warmup", "freeze", "finetune"), 200) == 1
    assert [r[0] for r in rec.rows] == [500, 100, 200]


def test_failed_write_leaves_previous_file(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.log(1, "pretrain", {"k": 1.0})
    rec.flush()

    def crash(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "metrics.parquet", crash)
    assert read_metrics(tmp_path).value.tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.parquet"]


def test_probe_files(tmp_path: Path) -> None:
    path = Recorder(tmp_path).save_probe(10, "warmup", {"p": 0.5}, {"q": np.arange(3.0)})
    with np.load(path) as data:
        np.testing.assert_array_equal(data["q"], [0.0, 1.0, 2.0])
    record = json.loads((tmp_path / "probes" / "step_10.json").read_text())
    assert record == {"step": 10, "phase": "warmup", "scalars": {"p": 0.5}}
