"""The probe series a diagnosis reads, the reference probe and the window W.

Inputs: the long-form metrics table of a run (`probe/*` keys of the online stage), the step t_u
at which policy updates begin and the degradation of its learning curve.

- ref: the last probe at or before t_u (right before policy updates). A series without a value
  there is referenced to its first value (the online TD error has no online data at step 0).
- W: the probes after ref up to the recovery step (to the end if not recovered; at least the
  first probe after ref).
- growth(x) = max_W x / x(ref);  shift(x) = max_W |x - x(ref)| / |x(ref)|.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wsdiag import probe_keys as keys
from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.config import Config
from wsdiag.core import ONLINE_PHASES

EPS = 1e-8


def warm_start_event(events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run's `warm_start` event ({} for a run recorded without one)."""
    return next((e for e in events if e.get("event") == "warm_start"), {})


@dataclass(frozen=True)
class WarmStart:
    """What the rules need to know of the warm start besides the probes."""

    critic_loaded: bool = False  # the online critic started as the pretrained one
    reference_critic: bool = True  # the pretrained agent has a trained critic (not BC)
    algo: str = ""  # the pretrained agent's algorithm ("" where not known)
    data_retained: bool = True  # the data it was trained on is in the online buffer: its
    # replay buffer loaded, or offline data kept (`warmstart.offline_data` other than none)

    @classmethod
    def of(
        cls, config: Config, loaded: Sequence[str] | None = None, algo: str | None = None
    ) -> WarmStart:
        """From a run's config, and what its warm start did when known: the parts it loaded
        and the pretrained agent's algorithm (a checkpoint's own, whatever `pretrain.algo`
        says)."""
        parts = config.warmstart.load if loaded is None else loaded
        algo = algo or config.pretrain.algo
        kept = config.pretrain.source == "offline" and config.warmstart.offline_data != "none"
        return cls(critic_loaded="critic" in parts, reference_critic=algo != "bc", algo=algo,
                   data_retained="buffer" in parts or kept)  # fmt: skip

    @classmethod
    def recorded(cls, config: Config, events: Sequence[dict[str, Any]]) -> WarmStart:
        """From the run's `warm_start` event; from the config where it has none."""
        event = warm_start_event(events)
        return cls.of(config, event.get("loaded"), event.get("pretrained_algo"))


class Evidence:
    """Probe series of the online stage, the reference probe and the window W."""

    def __init__(
        self,
        metrics: pd.DataFrame,
        deg: Degradation | None,
        update_start: int,
        th: Thresholds,
        warm: WarmStart | None = None,
        end: int | None = None,
    ) -> None:
        """`end`: the window's last step, fixed in advance (None: the dip's recovery step, else
        the last probe; never before the first probe after the reference)."""
        self.warm = warm or WarmStart()
        online = metrics[metrics.phase.isin(ONLINE_PHASES)]
        self.series = {
            k: (g.step.to_numpy(np.int64), g.value.to_numpy(float))
            for k, g in online.sort_values("step", kind="stable").groupby("key")
        }
        self.deg, self.th = deg, th
        probed = [s for k, (s, _) in self.series.items() if keys.is_probe(k)]
        steps = np.unique(np.concatenate(probed)) if probed else np.zeros(0, np.int64)
        before = steps[steps <= update_start]
        self.ref: int | None = int(before[-1]) if len(before) else None
        if end is None:
            end = steps[-1] if len(steps) else 0
            if deg is not None and deg.recovery_step is not None and deg.dip > 0:
                end = deg.recovery_step
        after = steps[steps > (self.ref if self.ref is not None else -1)]
        if len(after) and end < after[0]:
            end = after[0]
        self.end = int(end)

    def first_after(self, name: keys.Key) -> tuple[int, float] | None:
        """(step, value) of a series' first probe after ref, or None."""
        steps, values = self.get(name)
        if self.ref is None:
            return None
        later = np.nonzero(steps > self.ref)[0]
        return (int(steps[later[0]]), float(values[later[0]])) if len(later) else None

    def get(self, name: keys.Key) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of a probe key's series (empty arrays if absent)."""
        return self.series.get(keys.metric(name), (np.zeros(0, np.int64), np.zeros(0)))

    def _ref_index(self, name: keys.Key) -> int | None:
        """Index of a series' reference: its last value at or before ref, else its first value
        (a series that starts later, e.g. the online TD error without online data at step 0)."""
        steps, _ = self.get(name)
        if not len(steps) or self.ref is None:
            return None
        before = np.nonzero(steps <= self.ref)[0]
        if len(before):
            return int(before[-1])
        return 0 if steps[0] <= self.end else None

    def at_ref(self, name: keys.Key) -> float | None:
        i = self._ref_index(name)
        return None if i is None else float(self.get(name)[1][i])

    def window(self, name: keys.Key, include_ref: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The series over W: after its reference (from it with include_ref) up to the end."""
        steps, values = self.get(name)
        i = self._ref_index(name)
        if i is None:
            return steps[:0], values[:0]
        low = steps >= steps[i] if include_ref else steps > steps[i]
        keep = low & (steps <= self.end)
        return steps[keep], values[keep]

    def growth(self, name: keys.Key) -> tuple[float, float, float, int] | None:
        """(growth, value at ref, peak value, peak step), or None without data."""
        ref = self.at_ref(name)
        steps, values = self.window(name)
        if ref is None or len(values) == 0:
            return None
        i = int(np.argmax(values))
        return float(values[i] / max(ref, EPS)), ref, float(values[i]), int(steps[i])

    def shift(self, name: keys.Key) -> tuple[float, float, float, int] | None:
        """(relative shift, value at ref, farthest value, its step), or None without data."""
        ref = self.at_ref(name)
        steps, values = self.window(name)
        if ref is None or len(values) == 0:
            return None
        i = int(np.argmax(np.abs(values - ref)))
        return (
            float(abs(values[i] - ref) / max(abs(ref), EPS)),
            ref,
            float(values[i]),
            int(steps[i]),
        )
