"""EarlyWarning: the prognosis of wsdiag.analysis.prognosis while the online stage runs.

Once policy updates begin (step t_u), every `probes.warn_every` steps it records
`warn/action_rms` = sqrt(mean_s ||pi(s) - pi_pre(s)||^2 / da) over the behavioural probe states
and the online states of t_u, then asks `prognosis` about the metrics so far (the probes at t_u
included, for the critic mode). The first warning is a `warning` event (warning = "collapse_likely")
and a console line; with `probes.stop_on_warning` the run stops there, its checkpoint saved.
After it, `warn/action_rms` is still recorded (whether the actions went further or came back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from rich.console import Console

from wsdiag import probe_keys as keys
from wsdiag.analysis.evidence import WarmStart
from wsdiag.analysis.prognosis import prognosis
from wsdiag.analysis.run import COLLAPSE_WARNING as COLLAPSE
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.config import ProbesConfig
from wsdiag.core import ONLINE, Callback
from wsdiag.data.probe_set import ProbeSet
from wsdiag.rundir import COLUMNS

if TYPE_CHECKING:
    from wsdiag.training.loop import Loop

STOP_REASON = "warning"


class EarlyWarning(Callback):
    """Warns once when a collapse is likely (module docstring)."""

    def __init__(
        self,
        cfg: ProbesConfig,
        behaviour: ProbeSet,
        update_start: int,
        warm: WarmStart,
        console: Console | None = None,
    ) -> None:
        self.cfg, self.update_start, self.warm, self.console = cfg, update_start, warm, console
        self.thresholds = Thresholds(update_rms=cfg.warn_rms)
        self.states = behaviour.states
        self.warned = False
        self.rows: list[tuple[int, str, str, float]] = []  # the probe and warn rows seen so far
        self.seen = 0  # how many of the recorder's rows `rows` has looked at

    def on_start(self, loop: Loop) -> None:
        if loop.stage == ONLINE:
            self.warned = any(e.get("warning") == COLLAPSE for e in loop.recorder.events)
            self.rows, self.seen = [], 0

    def _new_rows(self, loop: Loop) -> pd.DataFrame:
        """The probe and warn rows recorded so far, reading each recorder row once."""
        fresh = loop.recorder.rows[self.seen :]
        self.seen = len(loop.recorder.rows)
        warn = keys.metric(keys.WARN_ACTION_RMS)
        self.rows += [r for r in fresh if keys.is_probe(r[2]) or r[2].startswith(warn)]
        return pd.DataFrame(self.rows, columns=list(COLUMNS))

    def on_phase(self, loop: Loop, name: str) -> None:
        if loop.stage == ONLINE and loop.step == self.update_start and len(loop.buffer):
            online = ProbeSet.from_buffer(loop.buffer, self.cfg.states).states
            self.states = np.concatenate([self.states, online])
        self._check(loop, measure=False)

    def on_env_step(self, loop: Loop) -> None:
        if loop.step < self.update_start or (loop.step - self.update_start) % self.cfg.warn_every:
            return
        self._check(loop, measure=loop.step > self.update_start)

    def _action_rms(self, loop: Loop) -> float:
        states = torch.as_tensor(self.states, dtype=torch.float32, device=loop.agent.device)
        with torch.no_grad():
            delta = loop.agent.policy(states) - loop.pretrained.policy(states)
        return float(np.sqrt(delta.pow(2).mean().item()))

    def _check(self, loop: Loop, measure: bool) -> None:
        if loop.stage != ONLINE or loop.pretrained is None or loop.step < self.update_start:
            return
        if measure and self.cfg.warn != "critic":  # the critic mode reads the probes only
            warn = keys.metric(keys.WARN_ACTION_RMS)
            loop.recorder.log(loop.step, loop.phase.name, {warn: self._action_rms(loop)})
        if self.warned:  # the series goes on: how far the actions went after it, and if back
            return
        found = prognosis(self._new_rows(loop), update_start=self.update_start, mode=self.cfg.warn,
                          thresholds=self.thresholds, warm=self.warm)  # fmt: skip
        if found is None:
            return
        self.warned = True
        loop.recorder.event("warning", warning=COLLAPSE, step=loop.step,
                            reason=found.reason, message=found.message)  # fmt: skip
        if self.console is not None:
            self.console.print(f"[yellow]warning:[/] {found.message}", soft_wrap=True)
        if self.cfg.stop_on_warning:
            loop.state.stop_reason = STOP_REASON
