"""Probe arrays at chosen steps: what the snapshot figures (3, 4, 5, 7) draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.run import Run
from wsdiag.report.key_steps import key_steps


@dataclass(frozen=True)
class Snapshot:
    """The arrays of probes/step_<step>.npz, with a caption saying which moment it is."""

    step: int
    caption: str
    arrays: dict[str, np.ndarray]

    @property
    def title(self) -> str:
        return f"step {self.step}: {self.caption}"


def snapshots(run: Run, deg: Degradation | None, limit: int = 4) -> list[Snapshot]:
    return [Snapshot(s, c, run.probe_arrays(s)) for s, c in key_steps(run, deg, limit)]
