"""The run's recorder: long-form scalar metrics, an event log and probe arrays, written atomically.

metrics.parquet holds one row per (step, phase, key, value); `step` counts environment steps
within a stage (the pretraining stage, or the online stage that starts at the warm start).
events.jsonl holds one JSON object per line. Both files are rewritten whole through a temp file
and a rename, so a crash at any moment leaves the previous complete version readable. With
`[log] tensorboard = true` every flush also brings tensorboard/<stage>/ up to date (`tfevents`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsdiag.atomic import atomic_write, atomic_write_text
from wsdiag.probes.files import jsonable, save_probe_files
from wsdiag.rundir import (
    COLUMNS,
    EVENTS_FILE,
    METRICS_FILE,
    TENSORBOARD_DIR,
    read_events,
    read_metrics,
)
from wsdiag.tfevents import EventFiles


class Recorder:
    """Collects rows and events in memory; `flush()` writes them to the run directory.

    `tensorboard=True` mirrors the rows into TensorBoard event files; rows read back from an
    earlier metrics.parquet (a resume) carry that file's modification time as their wall time.
    """

    def __init__(self, run_dir: Path, tensorboard: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.rows: list[tuple[int, str, str, float]] = []
        self.events: list[dict[str, Any]] = read_events(self.run_dir)
        metrics = self.run_dir / METRICS_FILE
        if metrics.exists():
            frame = read_metrics(self.run_dir)
            self.rows = list(frame[list(COLUMNS)].itertuples(index=False, name=None))
        self.tensorboard: EventFiles | None = None
        if tensorboard:
            self.tensorboard = EventFiles(self.run_dir / TENSORBOARD_DIR, time.time())
            self.tensorboard.add(self.rows, metrics.stat().st_mtime if self.rows else time.time())

    def log(self, step: int, phase: str, metrics: Mapping[str, float]) -> None:
        rows = [(int(step), phase, key, float(v)) for key, v in metrics.items()]
        self.rows.extend(rows)
        if self.tensorboard is not None:
            self.tensorboard.add(rows, time.time())

    def event(self, kind: str, **fields: Any) -> None:
        """Record an event and write the event log at once (events are rare and precious)."""
        self.events.append({"event": kind, "time": round(time.time(), 3), **fields})
        text = "".join(json.dumps(e, default=jsonable) + "\n" for e in self.events)
        atomic_write_text(self.run_dir / EVENTS_FILE, text)

    def flush(self) -> None:
        frame = pd.DataFrame(self.rows, columns=list(COLUMNS))
        frame = frame.astype({"step": "int64", "value": "float64"})
        atomic_write(self.run_dir / METRICS_FILE, lambda tmp: frame.to_parquet(tmp, index=False))
        if self.tensorboard is not None:
            self.tensorboard.flush()

    def truncate(self, phases: Iterable[str], after_step: int) -> int:
        """Drop rows of the given phases logged after `after_step` (resume); returns how many."""
        phases = set(phases)
        keep = [r for r in self.rows if not (r[1] in phases and r[0] > after_step)]
        dropped = len(self.rows) - len(keep)
        self.rows = keep
        if self.tensorboard is not None:
            self.tensorboard.drop(phases, after_step)
        return dropped

    def save_probe(
        self, step: int, phase: str, scalars: Mapping[str, float], arrays: Mapping[str, np.ndarray]
    ) -> Path:
        """Write probes/step_<step>.npz (arrays) and step_<step>.json (scalars) atomically."""
        return save_probe_files(self.run_dir, step, phase, scalars, arrays)
