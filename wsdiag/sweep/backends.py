"""Where a sweep's jobs run: local processes, or tasks on a Ray cluster. Both run the same
code (`wsdiag.sweep.worker`) with a job's output in its log file, so a job runs and fails the
same way on either: locally in warm workers that serve one job after another, on Ray in a
process per job."""

from __future__ import annotations

import contextlib
import ctypes
import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from wsdiag.errors import WsdiagError

BACKENDS = ("local", "ray")


def worker_command(*args: str | Path) -> list[str]:
    """`python -m wsdiag.sweep.worker ARGS` (a job file, or `--serve`)."""
    return [sys.executable, "-m", "wsdiag.sweep.worker", *map(str, args)]


class Backend(Protocol):
    def start(self, job_file: Path, log: Path, threads: int) -> Any: ...
    def wait(self, handles: dict[str, Any], timeout: float) -> list[tuple[str, int]]: ...
    def close(self) -> None: ...


def _die_with_parent() -> None:
    """Linux: the job gets SIGTERM when the sweep process dies (kill -9 included), so no
    orphan keeps writing; its checkpoints are atomic and a rerun resumes it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _child(command: list[str], **kwargs: Any) -> subprocess.Popen:
    """A child process of the sweep that dies with it (Linux)."""
    linux = sys.platform.startswith("linux")
    return subprocess.Popen(command, preexec_fn=_die_with_parent if linux else None, **kwargs)


class LocalBackend:
    """Each job a child process of the sweep: a fresh one per job with `warm = False`; by
    default one of the sweep's warm workers (`python -m wsdiag.sweep.worker --serve`), each
    running one job at a time and kept for the next, so that torch and wsdiag are imported once
    per worker instead of once per job. A worker that dies (a crash, a signal) answers its job
    with the signal's code and is replaced by a fresh one for the next job."""

    def __init__(self, warm: bool = True) -> None:
        self.warm = warm
        self.idle: list[subprocess.Popen] = []
        self.started: list[subprocess.Popen] = []

    def start(self, job_file: Path, log: Path, threads: int) -> subprocess.Popen:
        if not self.warm:
            with open(log, "ab") as out:
                return _child(worker_command(job_file), stdout=out, stderr=subprocess.STDOUT)
        while self.idle and self.idle[-1].poll() is not None:
            self.idle.pop()  # died while idle
        worker = self.idle.pop() if self.idle else self._new_worker()
        assert worker.stdin is not None
        worker.stdin.write(json.dumps({"job": str(job_file), "log": str(log)}) + "\n")
        worker.stdin.flush()
        return worker

    def _new_worker(self) -> subprocess.Popen:
        worker = _child(worker_command("--serve"), stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True, bufsize=1)  # fmt: skip
        self.started.append(worker)
        return worker

    def wait(self, handles: dict[str, Any], timeout: float) -> list[tuple[str, int]]:
        if not self.warm:
            return _poll_processes(handles, timeout)
        by_fd = {p.stdout.fileno(): (name, p) for name, p in handles.items()}
        ready, _, _ = select.select(list(by_fd), [], [], timeout) if by_fd else ([], [], [])
        done = []
        for fd in ready:
            name, worker = by_fd[fd]
            answer = worker.stdout.readline()
            if answer.strip():
                done.append((name, int(answer)))
                self.idle.append(worker)
            else:  # the worker died with its job
                done.append((name, worker.wait()))
        return done

    def close(self) -> None:
        """End the workers: idle ones at the end of their input, busy ones (an interrupted
        sweep) by SIGTERM, as a sweep's death ends them."""
        for worker in self.started:
            with contextlib.suppress(OSError):
                if worker not in self.idle:
                    worker.terminate()
                worker.stdin.close()
        for worker in self.started:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.idle.clear()
        self.started.clear()


def _poll_processes(handles: dict[str, Any], timeout: float) -> list[tuple[str, int]]:
    """The (name, exit code) of the processes among `handles` that ended within `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        done = [(name, p.returncode) for name, p in handles.items() if p.poll() is not None]
        if done or time.monotonic() >= deadline:
            return done
        time.sleep(0.05)


def _ray_job(command: list[str], log: str) -> int:
    with open(log, "ab") as out:
        return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode


class RayBackend:
    """Each job a Ray task with `num_cpus = threads`, on the cluster at `address` (None: a
    local Ray instance). The sweep folder must be on a filesystem every node sees."""

    def __init__(self, address: str | None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise WsdiagError('the ray backend needs Ray: pip install "wsdiag[ray]"') from exc
        self.ray = ray
        ray.init(address=address, ignore_reinit_error=True, include_dashboard=False,
                 log_to_driver=False)  # fmt: skip
        self.task = ray.remote(_ray_job)

    def start(self, job_file: Path, log: Path, threads: int) -> Any:
        return self.task.options(num_cpus=threads).remote(worker_command(job_file), str(log))

    def wait(self, handles: dict[str, Any], timeout: float) -> list[tuple[str, int]]:
        names = {ref: name for name, ref in handles.items()}
        ready, _ = self.ray.wait(list(names), num_returns=len(names), timeout=timeout)
        return [(names[ref], int(self.ray.get(ref))) for ref in ready]

    def close(self) -> None:
        self.ray.shutdown()


def make_backend(name: str, address: str | None = None) -> Backend:
    if name == "local":
        if address is not None:
            raise WsdiagError("--address is for --backend ray")
        return LocalBackend()
    if name == "ray":
        return RayBackend(address)
    raise WsdiagError(f"--backend must be one of {', '.join(BACKENDS)}, got '{name}'")
