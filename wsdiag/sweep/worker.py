"""One job of a sweep, in its own process: `python -m wsdiag.sweep.worker JOB.json`.

JOB.json holds the run directory, the config file, `until`, a lock file and, for a run that
starts where another parts from it, `branch_from`. The run directory is created exactly there
(branched from that run's branch checkpoint: `wsdiag.training.branch`) or, if it exists, resumed
from its newest checkpoint (a finished one is left unchanged). The lock keeps two processes off
one run. Errors are one `error:` line on stderr and the exit code of the error contract (2 bad
input, 1 a failure).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
import traceback
from pathlib import Path

from wsdiag.config import load_config
from wsdiag.errors import WsdiagError
from wsdiag.rundir import CONFIG_FILE
from wsdiag.training.branch import branch_run, branch_step
from wsdiag.training.experiment import Experiment


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
        exp.run(until=job.get("until"))


def main() -> None:
    try:
        run_job(Path(sys.argv[1]))
    except WsdiagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a failure of the run: the log keeps the traceback
        traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
