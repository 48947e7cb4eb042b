"""Early warning: a prognosis from the probes recorded so far, before the return falls.

At the probe right before policy updates begin (ref) and at every later one, with the rules of
`wsdiag.analysis.rules` on the probes up to that step:

- "critic" (at ref): the critic the updates will follow extrapolates (rule extrapolation), or
  is a fresh one that policy updates begin on at step 0 (no warm-up): an initialised network
  knows nothing of a_beta, and the diagnosis's first probe after updates comes too late to warn
  (on InvertedPendulum the return has collapsed by the first evaluation);
- "update" (after ref): the first step t > t_u at which the action change from pi_pre,
  rms(t) = sqrt(mean_s ||pi(s) - pi_pre(s)||^2 / da) over the probe states, reaches
  `update_rms` (diagnose.update_rms; probes.warn_rms during training). It is checked every
  `probes.warn_every` steps (`warn/action_rms`), or at the probes (`action_rms/online`) in runs
  recorded without it.

`probes.warn` chooses which of them warns: "both" (the default: the update warning, once the
critic also extrapolated; a large first update alone is common in runs that recover, and a
wrong critic alone in runs whose mitigation holds the policy), "update", "critic", "either"
(the first of the two), or "off". The measured rates are in docs/diagnosis.md. A run whose
baseline R0 is near the random return (`near_random`) is never warned: there is nothing to lose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wsdiag import probe_keys as keys
from wsdiag.analysis.degradation import dip_share
from wsdiag.analysis.evidence import Evidence, WarmStart
from wsdiag.analysis.rules import extrapolation
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.config import WARN_MODES
from wsdiag.core import ONLINE_PHASES

__all__ = ["WARN_MODES", "Prognosis", "prognosis"]
UNTRAINED = "policy updates begin on an untrained critic (no warm-up, no critic loaded)"


@dataclass(frozen=True)
class Prognosis:
    """'collapse likely' at `step`, with the finding that says why."""

    step: int
    reason: str  # critic | update
    evidence: str

    @property
    def message(self) -> str:
        what = "the critic extrapolates" if self.reason == "critic" else "large first updates"
        return f"collapse likely at step {self.step} ({what}): {self.evidence}"


def _crossing(metrics: pd.DataFrame, after: int, level: float) -> tuple[int, float] | None:
    """The first (step, rms) after `after` with rms >= level, from the finest series recorded."""
    for key, squared in ((keys.metric(keys.WARN_ACTION_RMS), False),
                         (keys.metric(keys.ACTION_RMS_ONLINE), False),
                         (keys.metric(keys.ACTION_MSE_ONLINE), True)):  # fmt: skip
        rows = metrics[(metrics.key == key) & (metrics.step > after)].sort_values("step")
        if len(rows):
            values = rows.value.to_numpy(float)
            values = np.sqrt(np.maximum(values, 0.0)) if squared else values
            hits = np.nonzero(values >= level)[0]
            return (int(rows.step.iloc[hits[0]]), float(values[hits[0]])) if len(hits) else None
    return None


def near_random(metrics: pd.DataFrame) -> bool:
    """Whether the pretrained policy's baseline R0 is too near the random return R_random for
    a share of it to mean much (`dip_share`): such a policy has nothing to lose, so no warning."""
    base = metrics[metrics.key == "eval/baseline_return"].value
    rand = metrics[metrics.key == "eval/random_return"].value
    return bool(len(base) and len(rand)) and dip_share(0.0, base.iloc[0], rand.iloc[0])[0] is None


def prognosis(
    metrics: pd.DataFrame,
    *,
    update_start: int,
    mode: str = "both",
    thresholds: Thresholds | None = None,
    warm: WarmStart | None = None,
) -> Prognosis | None:
    """The earliest warning the metrics recorded so far support (module docstring), or None.

    On a finished run it is the warning the run raised, or would have raised, first."""
    th = thresholds or Thresholds()
    if mode == "off":
        return None
    metrics = metrics[metrics.phase.isin(ONLINE_PHASES)]
    if near_random(metrics):
        return None
    if not (metrics.step >= update_start).any():  # the critic mid-warm-up is not the one
        return None  # the updates will follow
    ev = Evidence(metrics, None, update_start, th, warm)
    found = []
    if update_start == 0 and not ev.warm.critic_loaded:  # nothing to ask an initialised network
        evidence = UNTRAINED
    else:
        critic = extrapolation(ev) if ev.ref is not None else None
        evidence = critic.evidence if critic is not None and critic.fired else None
    if mode in ("critic", "either") and evidence is not None:
        found.append(Prognosis(int(ev.ref or 0), "critic", evidence))
    if mode == "both" and evidence is None:
        return None
    if mode in ("update", "either", "both"):
        hit = _crossing(metrics, update_start, th.update_rms)
        if hit is not None:
            text = (f"actions moved {hit[1]:.3g} per dimension (half-ranges) from pi_pre by step "
                    f"{hit[0]} (threshold {th.update_rms:g})")  # fmt: skip
            found.append(Prognosis(hit[0], "update", text))
    return min(found, key=lambda p: p.step) if found else None
