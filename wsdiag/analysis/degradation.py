"""Degradation metrics of one learning curve against the pretrained baseline R0.

The window W is the evaluations (t_i, R_i) at online steps t_i >= t_0, where t_0 is the first
step at which the new agent acts (the end of the warm-up). With R0 the baseline:

    dip            = max(0, R0 - min_W R_i)                   (t_min: step of the minimum)
    dip_fraction   = dip / (R0 - R_random)   if R_random is known and R0 stands out from it:
                     R0 - R_random >= MIN_REFERENCE_GAP max(|R0|, |R_random|); none (the
                     raw dip only, `dip_reference` saying why) where R0 is that close to
                     random; dip / |R0| for a run that recorded no R_random (older runs)
    recovery_step  = min { t_i > t_min : R_i >= R0 - tolerance }   (None: not recovered)
    time_to_recover = recovery_step - t_0          (no dip: recovery_step = t_0, time 0)
    area_below     = integral over [t_0, t_last] of max(0, R0 - R(t)) dt, R(t) the piecewise-
                     linear interpolation of the evaluations (exact, zero crossings included)
    final_return   = R at the last evaluation;  mean_return = mean_W R_i
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MIN_REFERENCE_GAP = 0.10  # R0 must beat R_random by this share of max(|R0|, |R_random|)
NEAR_RANDOM = "none: R0 is near R_random"


@dataclass(frozen=True)
class Degradation:
    """The degradation of one run; `dip_reference` says what `dip_fraction` divides by."""

    baseline: float
    min_return: float
    min_step: int
    dip: float
    dip_fraction: float | None  # None where R0 is too close to R_random for a share to mean much
    dip_reference: str
    recovery_step: int | None
    time_to_recover: int | None
    area_below: float
    final_return: float
    mean_return: float
    start_step: int
    evaluations: int

    @property
    def recovered(self) -> bool:
        return self.recovery_step is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def area_below(steps: np.ndarray, values: np.ndarray, level: float) -> float:
    """Integral of max(0, level - v(t)) for the piecewise-linear v through (steps, values)."""
    d = level - np.asarray(values, float)
    h = np.diff(np.asarray(steps, float))
    d0, d1 = d[:-1], d[1:]
    both = np.where((d0 >= 0) & (d1 >= 0), (d0 + d1) / 2 * h, 0.0)
    cross = (d0 * d1) < 0
    pos = np.where(cross, np.maximum(d0, d1), 0.0)
    span = np.where(cross, np.abs(d0) + np.abs(d1), 1.0)
    tri = np.where(cross, pos**2 / span * h / 2, 0.0)
    return float(both.sum() + tri.sum())


def dip_share(dip: float, baseline: float, r_random: float | None) -> tuple[float | None, str]:
    """The dip as a share of R0 - R_random and that reference's name; (None, why) where R0 is
    within MIN_REFERENCE_GAP of R_random; dip / |R0| where R_random is unknown."""
    if r_random is None:
        return dip / max(abs(baseline), 1e-12), "|R0|"
    gap = baseline - r_random
    if gap <= 0 or gap < MIN_REFERENCE_GAP * max(abs(baseline), abs(r_random)):
        return None, NEAR_RANDOM
    return dip / gap, "R0 - R_random"


def share_text(d: Degradation, of: str = "") -> str:
    """'63% R0 - R_random' (`of`: '63% of R0 - R_random'), or why there is no share."""
    if d.dip_fraction is None:
        return d.dip_reference
    return f"{100 * d.dip_fraction:.0f}% {of}{d.dip_reference}"


def degradation(
    steps: np.ndarray,
    returns: np.ndarray,
    baseline: float,
    *,
    start: int = 0,
    r_random: float | None = None,
    tolerance: float = 0.0,
) -> Degradation:
    """Degradation metrics of the curve (steps, returns) after `start` (see module docstring)."""
    steps, returns = np.asarray(steps, np.int64), np.asarray(returns, float)
    keep = steps >= start
    steps, returns = steps[keep], returns[keep]
    if len(steps) == 0:
        raise ValueError(f"no evaluation at or after step {start}")
    i_min = int(np.argmin(returns))
    dip = max(0.0, baseline - float(returns[i_min]))
    fraction, reference = dip_share(dip, baseline, r_random)
    if dip == 0.0:
        recovery: int | None = int(start)
    else:
        after = np.nonzero((steps > steps[i_min]) & (returns >= baseline - tolerance))[0]
        recovery = int(steps[after[0]]) if len(after) else None
    return Degradation(
        baseline=float(baseline),
        min_return=float(returns[i_min]),
        min_step=int(steps[i_min]),
        dip=dip,
        dip_fraction=fraction,
        dip_reference=reference,
        recovery_step=recovery,
        time_to_recover=None if recovery is None else recovery - start,
        area_below=area_below(steps, returns, baseline),
        final_return=float(returns[-1]),
        mean_return=float(returns.mean()),
        start_step=int(start),
        evaluations=len(steps),
    )
