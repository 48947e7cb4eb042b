"""One run, one writer: a second process that opens a run being trained is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import one_line_error
from tests.training.test_experiment import _Crash
from wsdiag.cli.main import app
from wsdiag.config import Config
from wsdiag.errors import WsdiagError
from wsdiag.rundir import LOCK_FILE
from wsdiag.training.experiment import Experiment
from wsdiag.training.recorder import read_events, read_metrics


@pytest.fixture
def interrupted(tiny: Config, runs: Path) -> Path:
    exp = Experiment.create(tiny, runs, progress="none", callbacks=[_Crash(330)])
    with pytest.raises(KeyboardInterrupt):
        exp.run()
    return exp.run_dir


def test_a_second_resume_of_a_run_being_trained_is_refused(interrupted: Path) -> None:
    first = Experiment.resume(interrupted, progress="none")
    with pytest.raises(WsdiagError, match="one run has one writer"):
        Experiment.resume(interrupted, progress="none")
    result = CliRunner().invoke(app, ["train", "--resume", str(interrupted)])
    one_line_error(result, 2, "one run has one writer")
    first.run()
    assert [e["event"] for e in read_events(interrupted)].count("resume") == 1
    rows = read_metrics(interrupted)
    Experiment.resume(interrupted, progress="none").run()  # released at the end of the run
    assert read_metrics(interrupted).equals(rows)


def test_a_lock_file_left_by_a_killed_process_does_not_block(interrupted: Path) -> None:
    (interrupted / LOCK_FILE).write_text("pid 999999 on elsewhere\n")
    Experiment.resume(interrupted, progress="none").run()
    assert read_events(interrupted)[-1]["event"] == "end"


def test_the_writer_removes_what_killed_writes_left(interrupted: Path) -> None:
    left = [
        interrupted / ".metrics.parquet.tmp4242",
        interrupted / "probes" / ".frozen_agent.pt.tmp4242",
        interrupted / "checkpoints" / ".step_400.tmp",
    ]
    for path in left[:2]:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"torn")
    left[2].mkdir()
    Experiment.resume(interrupted, progress="none").run()
    assert not any(path.exists() for path in left)


def test_a_kill_right_after_the_pretrained_save_still_gets_pretrain_end(
    tiny: Config, runs: Path
) -> None:
    exp = Experiment.create(tiny, runs, progress="none")
    exp.run(until="pretrain")
    events = read_events(exp.run_dir)
    end = next(e for e in events if e["event"] == "pretrain_end")
    kept = [e for e in events if e["event"] != "pretrain_end"]  # as if killed before it
    (exp.run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in kept))
    Experiment.resume(exp.run_dir, progress="none").run()
    ends = [e for e in read_events(exp.run_dir) if e["event"] == "pretrain_end"]
    assert len(ends) == 1 and ends[0]["step"] == end["step"]
    assert ends[0]["eval_return"] == end["eval_return"]
