"""Probe files: `probes/step_<n>.npz` (arrays) and `probes/step_<n>.json` (scalars), written
atomically; the same layout inside a run directory and under `wsdiag probe --out`."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from wsdiag.atomic import atomic_write, atomic_write_text
from wsdiag.rundir import PROBES_DIR


def save_probe_files(
    folder: Path,
    step: int,
    phase: str,
    scalars: Mapping[str, float],
    arrays: Mapping[str, np.ndarray],
) -> Path:
    """Write <folder>/probes/step_<step>.{npz,json}; returns the .npz path."""
    probes = Path(folder) / PROBES_DIR
    probes.mkdir(parents=True, exist_ok=True)
    path = probes / f"step_{step}.npz"
    atomic_write(path, lambda tmp: _savez(tmp, arrays))
    record = {"step": step, "phase": phase, "scalars": dict(scalars)}
    atomic_write_text(path.with_suffix(".json"), json.dumps(record, indent=1, default=jsonable))
    return path


def _savez(tmp: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def jsonable(obj: Any) -> Any:
    """json.dumps `default`: numpy scalars, paths, and non-finite floats as strings."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
