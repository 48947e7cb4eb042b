"""One run, one writer: an exclusive lock on a run directory while a process trains in it.

The lock is `flock` on `<run>/.lock`, so the operating system releases it when its holder
exits, killed or not: a stale lock file never blocks a resume. A second process that opens
the run (a second `wsdiag train --resume`) is refused with the holder's pid and host.
"""

from __future__ import annotations

import fcntl
import os
import platform
from pathlib import Path

from wsdiag.errors import WsdiagError
from wsdiag.rundir import LOCK_FILE


class RunLock:
    """Holds the run directory's lock from construction until `release` (or exit)."""

    def __init__(self, run_dir: Path) -> None:
        self.file = open(Path(run_dir) / LOCK_FILE, "a+")  # noqa: SIM115 (held open on purpose)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            self.file.close()
            raise WsdiagError(
                f"{run_dir} is being written by {holder}; one run has one writer: wait for it "
                "to finish or stop it, then resume"
            ) from None
        self.file.truncate(0)
        self.file.write(f"pid {os.getpid()} on {platform.node()}\n")
        self.file.flush()

    def release(self) -> None:
        if not self.file.closed:
            self.file.close()  # closing the descriptor releases the flock
