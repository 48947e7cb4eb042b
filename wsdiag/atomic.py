"""Atomic file writes: write a sibling temp file, fsync, then rename over the target."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` then atomically replace `path` by `tmp`; a crash leaves `path` intact."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def replace_symlink(link: Path, target: str) -> None:
    """Point `link` at `target` (a relative name) atomically."""
    tmp = link.with_name(f".{link.name}.tmp{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


# `.<name>.tmp<pid>` (the files and links written above), `.<name>.tmp` (checkpoint folders)
TEMPORARY = re.compile(r"\..+\.tmp\d*")


def remove_temporaries(folder: Path) -> None:
    """Remove what writes killed midway left in `folder`: the temporary siblings named above.
    Only for a folder whose one writer is the caller (a run directory under its lock)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if TEMPORARY.fullmatch(path.name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
