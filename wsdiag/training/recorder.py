"""The run's recorder: long-form scalar metrics, an event log and probe arrays, written atomically.

metrics.parquet holds one row per (step, phase, key, value); `step` counts environment steps
within a stage (the pretraining stage, or the online stage that starts at the warm start).
events.jsonl holds one JSON object per line. Both files are rewritten whole through a temp file
and a rename, so a crash at any moment leaves the previous complete version readable. With
`[log] tensorboard = true` every flush also brings tensorboard/<stage>/ up to date (`tfevents`).
"""

from __future__ import annotations

import json
import math
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

Row = tuple[int, str, str, float]  # step, phase, key, value


class Recorder:
    """Collects rows and events in memory; `flush()` writes them to the run directory.

    `tensorboard=True` mirrors the rows into TensorBoard event files; rows read back from an
    earlier metrics.parquet (a resume) carry that file's modification time as their wall time.
    """

    def __init__(self, run_dir: Path, tensorboard: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.rows: list[Row] = []
        self.events: list[dict[str, Any]] = read_events(self.run_dir)
        metrics = self.run_dir / METRICS_FILE
        if metrics.exists():
            frame = read_metrics(self.run_dir)
            self.rows = list(frame[list(COLUMNS)].itertuples(index=False, name=None))
        self.resumed: tuple[set[str], int, dict[str, float]] | None = None  # see `resume`
        self.tensorboard: EventFiles | None = None
        if tensorboard:
            self.tensorboard = EventFiles(self.run_dir / TENSORBOARD_DIR, time.time())
            self.tensorboard.add(self.rows, metrics.stat().st_mtime if self.rows else time.time())

    def log(self, step: int, phase: str, metrics: Mapping[str, float]) -> None:
        rows = [(int(step), phase, key, float(v)) for key, v in metrics.items()]
        if self.resumed is not None:
            rows = self._not_repeated(rows)
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

    def resume(self, phases: Iterable[str], step: int) -> int:
        """Continue a stage from its checkpoint at `step`: drop the rows of its `phases` logged
        after it (`truncate`), and do not record again at `step` what the stage has recorded
        already: a row there whose key's latest value in these phases is the same (a
        mitigation's constants and controllers log their value when a loop starts)."""
        dropped = self.truncate(phases, step)
        phases = set(phases)
        latest = {key: value for _, phase, key, value in self.rows if phase in phases}
        self.resumed = (phases, step, latest)
        return dropped

    def _not_repeated(self, rows: list[Row]) -> list[Row]:
        """`rows` less those that repeat a value at the resumed step (see `resume`)."""
        assert self.resumed is not None
        phases, step, latest = self.resumed
        if rows and rows[0][0] > step and rows[0][1] in phases:  # the stage has moved on
            self.resumed = None
            return rows
        return [r for r in rows if not (r[0] == step and r[1] in phases and _same(latest, r))]

    def count(self, key: str, phases: Iterable[str], up_to: int) -> int:
        """Rows of `key` in `phases` logged at steps <= `up_to`."""
        phases = set(phases)
        return sum(1 for s, phase, k, _ in self.rows if k == key and phase in phases and s <= up_to)

    def save_probe(
        self, step: int, phase: str, scalars: Mapping[str, float], arrays: Mapping[str, np.ndarray]
    ) -> Path:
        """Write probes/step_<step>.npz (arrays) and step_<step>.json (scalars) atomically."""
        return save_probe_files(self.run_dir, step, phase, scalars, arrays)


def _same(latest: Mapping[str, float], row: Row) -> bool:
    """Whether `row` holds the value its key has in `latest` (NaN the same as NaN)."""
    value = latest.get(row[2])
    return value is not None and (value == row[3] or (math.isnan(value) and math.isnan(row[3])))
