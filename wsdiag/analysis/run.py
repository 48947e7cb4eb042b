"""A run directory, read once: config, metrics by key, events, phase spans and probe files.

Steps of the online stage count from 0 at the warm start; pretraining has its own counter. The
phase schedule is wsdiag.rundir's: the new agent acts from `policy_start` = end of the warm-up;
its actor learns from `update_start` = start of the finetune phase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsdiag import probe_keys as keys
from wsdiag.analysis.evidence import WarmStart, warm_start_event
from wsdiag.config import Config, load_config, to_dict
from wsdiag.core import ONLINE_PHASES
from wsdiag.errors import WsdiagError
from wsdiag.rundir import (
    CONFIG_FILE,
    METRICS_FILE,
    PROBE_SET_FILE,
    PROBES_DIR,
    online_phases,
    read_events,
    read_metrics,
)
from wsdiag.safe_files import PROBE_FILE_BYTES, PROBE_FILE_WHY, npz_keys, read_npz

COLLAPSE_WARNING = "collapse_likely"  # the `warning` field of the early warning's event
PROBE_FILE = re.compile(r"step_(\d+)\.npz$")


@dataclass(frozen=True)
class PhaseSpan:
    """Steps [start, end) of one phase, as figures draw it."""

    name: str
    start: int
    end: int


@dataclass
class Run:
    """Everything a report needs from one run directory (arrays are read lazily)."""

    path: Path
    name: str
    config: Config
    metrics: pd.DataFrame
    events: list[dict[str, Any]]
    probe_steps: list[int] = field(default_factory=list)

    # ------------------------------------------------------------------ series

    @cached_property
    def _online(self) -> dict[str, pd.DataFrame]:
        frame = self.metrics[self.metrics.phase.isin(ONLINE_PHASES)]
        return {k: g.sort_values("step", kind="stable") for k, g in frame.groupby("key")}

    @cached_property
    def _pretrain(self) -> dict[str, pd.DataFrame]:
        frame = self.metrics[~self.metrics.phase.isin(ONLINE_PHASES)]
        return {k: g.sort_values("step", kind="stable") for k, g in frame.groupby("key")}

    def series(self, key: str, stage: str = "online") -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric key in a stage, by step (empty arrays if absent)."""
        table = self._online if stage == "online" else self._pretrain
        rows = table.get(key)
        if rows is None:
            return np.zeros(0, np.int64), np.zeros(0)
        return rows.step.to_numpy(np.int64), rows.value.to_numpy(np.float64)

    def has(self, key: str) -> bool:
        return key in self._online

    @property
    def keys(self) -> list[str]:
        return sorted(self._online)

    # ------------------------------------------------------------------ timeline

    @property
    def phases(self) -> list[PhaseSpan]:
        return [PhaseSpan(p.name, p.start, p.end) for p in online_phases(self.config)]

    @property
    def policy_start(self) -> int:
        """First online step at which the new agent acts (end of the warm-up)."""
        return self.config.warmstart.warmup_steps

    @property
    def update_start(self) -> int:
        """First online step with actor updates (start of the finetune phase)."""
        return self.config.warmstart.warmup_steps + self.config.warmstart.freeze_policy_steps

    @property
    def pretrain_steps(self) -> int | None:
        """Length of the recorded pretraining stage (None when it was loaded, not run)."""
        ends = [e["step"] for e in self.events if e.get("event") == "pretrain_end"]
        if ends:
            return int(ends[-1])
        pre = self.metrics[~self.metrics.phase.isin(ONLINE_PHASES)]
        return int(pre.step.max()) if len(pre) else None

    @property
    def baseline(self) -> float | None:
        """R0: the pretrained policy's evaluation return at online step 0."""
        _, values = self.series("eval/baseline_return")
        return float(values[0]) if len(values) else None

    @property
    def warnings(self) -> list[str]:
        """The messages of the run's `warning` events (a mitigation's caveat, say), the early
        warning aside (`collapse_warning`)."""
        return [
            str(e.get("message"))
            for e in self.events
            if e.get("event") == "warning" and e.get("warning") != COLLAPSE_WARNING
        ]

    @property
    def collapse_warning(self) -> dict[str, Any] | None:
        """The early warning's event ("collapse likely", its step and message), if it fired."""
        return next(
            (e for e in self.events if e.get("warning") == COLLAPSE_WARNING and "step" in e), None
        )

    @property
    def warning_step(self) -> int | None:
        """The step of the early warning (`collapse_warning`), if it fired."""
        raised = self.collapse_warning
        return None if raised is None else int(raised["step"])

    @property
    def warm_start_parts(self) -> list[str]:
        """The parts the warm start loaded (its event, else the config)."""
        loaded = warm_start_event(self.events).get("loaded")
        return list(self.config.warmstart.load if loaded is None else loaded)

    @property
    def warm_start(self) -> WarmStart:
        """What the warm start loaded and from which algorithm (its event, else the config)."""
        return WarmStart.recorded(self.config, self.events)

    # ------------------------------------------------------------------ probes

    def probe_file(self, step: int) -> Path:
        return self.path / PROBES_DIR / f"step_{step}.npz"

    def probe_arrays(self, step: int, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Arrays of probes/step_<step>.npz (only `keys` when given, those present); the file's
        arrays may declare at most PROBE_FILE_BYTES."""
        return read_npz(self.probe_file(step), "probe file", PROBE_FILE_BYTES, PROBE_FILE_WHY, keys)

    def probe_keys(self, step: int) -> list[str]:
        """Names of the arrays in probes/step_<step>.npz (reads only the archive's index)."""
        return npz_keys(self.probe_file(step), "probe file")

    def probe_set(self) -> dict[str, np.ndarray] | None:
        """The arrays of probes/probe_set.npz (at most PROBE_FILE_BYTES); None without one."""
        path = self.path / PROBES_DIR / PROBE_SET_FILE
        if not path.exists():
            return None
        return read_npz(path, "probe set", PROBE_FILE_BYTES, PROBE_FILE_WHY)

    @cached_property
    def config_dict(self) -> dict[str, Any]:
        return to_dict(self.config)


def load_run(path: str | Path, name: str | None = None) -> Run:
    """Read a run directory written by `wsdiag train`; a clear error if it is not one."""
    path = Path(path)
    if not path.is_dir():
        raise WsdiagError(f"run directory not found: {path}")
    missing = [f for f in (CONFIG_FILE, METRICS_FILE) if not (path / f).is_file()]
    if missing:
        raise WsdiagError(f"not a wsdiag run directory (no {missing[0]}): {path}")
    probes = path / PROBES_DIR
    steps = sorted(
        int(m.group(1))
        for p in (probes.iterdir() if probes.is_dir() else [])
        if (m := PROBE_FILE.match(p.name))
    )
    return Run(
        path=path,
        name=name or path.name,
        config=load_config(path / CONFIG_FILE, check_mitigation=False),  # any version's run
        metrics=_current_keys(read_metrics(path)),
        events=read_events(path),
        probe_steps=steps,
    )


def _current_keys(metrics: pd.DataFrame) -> pd.DataFrame:
    """Metric keys under their current names (`probe_keys.migrate`, once per distinct key)."""
    if len(metrics):
        names = {k: keys.migrate(k) for k in metrics.key.unique()}
        metrics = metrics.assign(key=metrics.key.map(names))
    return metrics
