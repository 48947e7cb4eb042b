"""One job of a sweep: `python -m wsdiag.sweep.worker JOB.json` runs it in its own process;
`python -m wsdiag.sweep.worker --serve` runs job after job in one process (the local backend's
warm workers, `wsdiag.sweep.backends`), which imports torch and wsdiag once instead of once per
job: about 2 s of CPU each, a third of a short counterfactual run's process.

JOB.json holds the run directory, the config file, `until`, a lock file and, for a run that
starts where another parts from it, `branch_from`. The run directory is created exactly there
(branched from that run's branch checkpoint: `wsdiag.training.branch`) or, if it exists, resumed
from its newest checkpoint (a finished one is left unchanged). The lock keeps two processes off
one run. Errors are one `error:` line on stderr and the exit code of the error contract (2 bad
input, 1 a failure).

A served job starts from nothing its predecessors left: every run seeds torch's global generator
where it starts or restores it from its checkpoint, and sets its thread count; the one cache
shared across runs (the pretrained critic's probe numbers) is keyed by a hash of everything they
depend on. tests/sweep/test_warm_worker.py checks that a served run's records equal those of the
same run in a fresh process.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import shutil
import sys
import traceback
from pathlib import Path

from wsdiag.allocator import pad_heap_unless_set
from wsdiag.config import load_config
from wsdiag.errors import WsdiagError
from wsdiag.rundir import CONFIG_FILE
from wsdiag.training.branch import branch_run, branch_step
from wsdiag.training.experiment import Experiment

SERVE = "--serve"
INTERRUPTED = 130


def run_job(job_file: Path) -> None:
    job = json.loads(Path(job_file).read_text())
    run_dir = Path(job["run_dir"])
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(job["lock"], "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits for a process still running this job
        if not (run_dir / CONFIG_FILE).exists() and run_dir.exists():
            shutil.rmtree(run_dir)  # killed between making the folder and writing its config
        if (run_dir / CONFIG_FILE).exists():
            exp = Experiment.resume(run_dir, progress="quiet")
        elif job.get("branch_from") and branch_step(Path(job["branch_from"])) is not None:
            branch_run(Path(job["branch_from"]), run_dir, load_config(job["config"]))
            exp = Experiment.resume(run_dir, progress="quiet")
        else:
            config = load_config(job["config"])
            exp = Experiment.create(config, run_dir.parent, run_dir=run_dir, progress="quiet")
        pad_heap_unless_set()  # the process's heap: fewer page faults (wsdiag.allocator)
        exp.run(until=job.get("until"))


def exit_code(job_file: Path) -> int:
    """Run one job; its exit code (0, the error contract's, or 130 interrupted), the error as
    an `error:` line on stderr (a failure's traceback before it)."""
    try:
        run_job(job_file)
        return 0
    except WsdiagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # a failure of the run: the log keeps the traceback
        traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def run_logged(job_file: Path, log: Path) -> int:
    """`exit_code(job_file)` with this process's stdout and stderr appended to `log` meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(out, 1)
        os.dup2(out, 2)
        code = exit_code(job_file)
        sys.stdout.flush()
        sys.stderr.flush()
        return code
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (out, *saved):
            os.close(fd)
        gc.collect()  # the run's buffers and agents go before the next one


def serve() -> None:
    """Read jobs as JSON lines {"job": JOB.json, "log": LOG} from stdin, run each with its output
    in its log, and answer each with its exit code on a line of the stdout this process had on
    start. Ends at the end of stdin, or after a job interrupted."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # stray output goes nowhere, never to the answers
    os.close(devnull)
    for line in sys.stdin:
        request = json.loads(line)
        code = run_logged(Path(request["job"]), Path(request["log"]))
        answers.write(f"{code}\n")
        if code == INTERRUPTED:
            return


def main() -> None:
    if sys.argv[1:] == [SERVE]:
        with contextlib.suppress(KeyboardInterrupt):  # between jobs
            serve()
        return
    sys.exit(exit_code(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
