"""Where a sweep's jobs run: local processes, or tasks on a Ray cluster. Both start the same
worker (`python -m wsdiag.sweep.worker JOB.json`) with its output in a log file, so a job runs
and fails the same way on either."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from wsdiag.errors import WsdiagError

BACKENDS = ("local", "ray")


def worker_command(job_file: Path) -> list[str]:
    return [sys.executable, "-m", "wsdiag.sweep.worker", str(job_file)]


class Backend(Protocol):
    def start(self, job_file: Path, log: Path, threads: int) -> Any: ...
    def wait(self, handles: dict[str, Any], timeout: float) -> list[tuple[str, int]]: ...
    def close(self) -> None: ...


def _die_with_parent() -> None:
    """Linux: the job gets SIGTERM when the sweep process dies (kill -9 included), so no
    orphan keeps writing; its checkpoints are atomic and a rerun resumes it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalBackend:
    """Each job a child process of the sweep."""

    def start(self, job_file: Path, log: Path, threads: int) -> subprocess.Popen:
        with open(log, "ab") as out:
            return subprocess.Popen(
                worker_command(job_file),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    def wait(self, handles: dict[str, Any], timeout: float) -> list[tuple[str, int]]:
        deadline = time.monotonic() + timeout
        while True:
            done = [(name, p.returncode) for name, p in handles.items() if p.poll() is not None]
            if done or time.monotonic() >= deadline:
                return done
            time.sleep(0.05)

    def close(self) -> None:
        return None


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
