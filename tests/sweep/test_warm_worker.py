"""The local backend's warm workers: a run served after others records what it records in a
fresh process; a failing job is an exit code and an error line, and the worker serves on; a
worker killed with its job answers with the signal and the next job gets a fresh one."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DEMO_CONFIG
from tests.sweep.test_sweep import TINY, TWO_VARIANTS
from wsdiag.rundir import is_complete, read_metrics
from wsdiag.sweep.backends import LocalBackend
from wsdiag.sweep.plan import SweepPlan, build_plan
from wsdiag.sweep.runner import run_plan, write_job_files
from wsdiag.sweep.spec import load_sweep
from wsdiag.sweep.state import DONE, FAILED


def _plan(tmp_path: Path, out: str, extra: str = TWO_VARIANTS) -> SweepPlan:
    path = tmp_path / f"{out}.toml"
    path.write_text(TINY.format(base=DEMO_CONFIG) + extra)
    return build_plan(load_sweep(path), tmp_path / out)


def _records(run_dir: Path) -> pd.DataFrame:
    frame = read_metrics(run_dir)
    return frame[~frame.key.str.startswith("time/")].reset_index(drop=True)


@pytest.mark.slow
def test_a_run_served_after_others_records_what_a_fresh_process_records(tmp_path: Path) -> None:
    """One warm worker runs both pretrainings and all four fine-tunes one after another (each
    after runs of other seeds and mitigations); a process per job runs them again elsewhere."""
    served, fresh = _plan(tmp_path, "served"), _plan(tmp_path, "fresh")
    warm = LocalBackend()
    state = run_plan(served, warm, jobs=1, threads=1)
    assert set(state.names(DONE)) == {j.name for j in served.jobs}
    assert warm.started == []  # the runner closed it: every worker ended
    run_plan(fresh, LocalBackend(warm=False), jobs=1, threads=1)
    for a, b in zip(served.runs, fresh.runs, strict=True):
        assert is_complete(a.run_dir) and is_complete(b.run_dir)
        pd.testing.assert_frame_equal(_records(a.run_dir), _records(b.run_dir))


def _serve(backend: LocalBackend, plan: SweepPlan, name: str) -> tuple[object, Path]:
    files = write_job_files(plan)
    log = plan.root / f"{name}.log"
    return backend.start(files[name], log, 1), log


def _answer(backend: LocalBackend, name: str, handle: object) -> int:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = backend.wait({name: handle}, timeout=1.0)
        if done:
            return done[0][1]
    raise AssertionError(f"{name} did not finish")


@pytest.mark.slow
def test_a_failing_or_killed_job_leaves_the_pool_serving(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "out")
    plan.root.mkdir(parents=True)
    pretraining = plan.pretrainings[0].name  # seed 0's; seed 1's is never run
    backend = LocalBackend()
    try:
        handle, _ = _serve(backend, plan, pretraining)
        assert _answer(backend, pretraining, handle) == 0
        handle, log = _serve(backend, plan, "plain-seed1")  # its pretraining is missing
        assert _answer(backend, "plain-seed1", handle) == 2  # bad input: the error contract
        assert log.read_text().startswith("error: checkpoint not found: ")
        assert backend.idle == [handle]  # the same worker, ready for the next job
        handle, log = _serve(backend, plan, "plain-seed0")
        assert backend.started == [handle]
        os.kill(handle.pid, signal.SIGKILL)  # type: ignore[attr-defined]
        assert _answer(backend, "plain-seed0", handle) == -signal.SIGKILL
        again, _ = _serve(backend, plan, "plain-seed0")  # resumes in a fresh worker
        assert again is not handle and _answer(backend, "plain-seed0", again) == 0
        assert is_complete(plan.root / "runs" / "plain-seed0")
    finally:
        backend.close()
    assert all(w.poll() is not None for w in (handle, again))  # type: ignore[attr-defined]


def test_the_runner_records_a_failed_served_job_with_its_error(tmp_path: Path) -> None:
    """Bad input found before any step (a dataset not on this machine): the job fails fast,
    its error line is the recorded error, and the pool ends with the sweep."""
    extra = '[[variant]]\nname = "plain"\nset = { "pretrain.source" = "checkpoint", ' \
        '"pretrain.path" = "nowhere" }\n'  # fmt: skip
    plan = _plan(tmp_path, "out", extra)
    backend = LocalBackend()
    state = run_plan(plan, backend, jobs=2, threads=1)
    assert set(state.names(FAILED)) == {j.name for j in plan.jobs}
    assert all("nowhere" in state.jobs[j.name]["error"] for j in plan.jobs)
    assert backend.started == []
