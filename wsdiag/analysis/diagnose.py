"""A run's diagnosis: its degradation, every rule's finding, and a verdict along the chain.

significance: dip > 0 and dip_fraction >= min_dip_fraction (see `degradation`); otherwise the
verdict is "no significant degradation" and the findings are still reported.

The verdict names the earliest fired link of the chain critic -> update -> drift
(`rules.CHAIN`) as the cause and the fired links downstream of it as its symptoms ("policy
drift, caused by critic extrapolation"); the branches (spiral, closeness) are causes of their
own. A drift or an update with nothing upstream fired is named with "its cause not identified",
unless both critic links were read and are clear: an update from a confident critic no steeper
than the pretrained one is its own cause, the actor's step. With `drift_over_update`, a fired
drift is named before a fired update when no critic link fired: drift is the link that reads
the return (its correlation with the shortfall), where the first update's size alone fires on
runs that never dip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wsdiag.analysis.degradation import Degradation, degradation
from wsdiag.analysis.evidence import Evidence, WarmStart
from wsdiag.analysis.fmt import num as _g
from wsdiag.analysis.rules import BRANCHES, CHAIN, CLEAR, FIRED, NA, TITLES, Finding, all_findings
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.core import ONLINE_PHASES

CRITIC_LINKS = CHAIN[:2]  # extrapolation, gradient
DRIFT_FIRST = (*CRITIC_LINKS, "drift", "update")

__all__ = ["CLEAR", "FIRED", "NA", "Diagnosis", "Finding", "WarmStart", "diagnose"]


@dataclass(frozen=True)
class Diagnosis:
    significant: bool
    degradation: Degradation | None
    verdict: str
    findings: list[Finding]
    drift_over_update: bool = False  # `Thresholds.drift_over_update` (module doc)

    @property
    def causes(self) -> list[Finding]:
        """The fired root causes when the degradation is significant (those the verdict names):
        the spiral first (upstream of every update its critic drives), then the earliest fired
        link of the chain (drift before update with `drift_over_update`), then closeness."""
        if not self.significant:
            return []
        fired = {f.cause: f for f in self.findings if f.fired}
        order = DRIFT_FIRST if self.drift_over_update else CHAIN
        chain = [fired[c] for c in order if c in fired][:1]
        spiral = [fired["spiral"]] if "spiral" in fired else []
        return spiral + chain + [fired[c] for c in BRANCHES if c in fired and c != "spiral"]

    @property
    def symptoms(self) -> list[Finding]:
        """Fired links of the chain downstream of its named cause."""
        return self._fired_beside_named(downstream=True)

    @property
    def passed_over(self) -> list[Finding]:
        """Fired links of the chain upstream of its named cause (the update, when drift is named
        before it)."""
        return self._fired_beside_named(downstream=False)

    def _fired_beside_named(self, downstream: bool) -> list[Finding]:
        named = next((c.cause for c in self.causes if c.cause in CHAIN), None)
        if named is None:
            return []
        i = CHAIN.index(named)
        links = CHAIN[i + 1 :] if downstream else CHAIN[:i]
        return [f for f in self.findings if f.fired and f.cause in links]


def eval_curve(metrics: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(steps, returns) of the online evaluations, one per step (the last one recorded)."""
    rows = metrics[(metrics.key == "eval/return") & metrics.phase.isin(ONLINE_PHASES)]
    rows = rows.sort_values("step", kind="stable").drop_duplicates("step", keep="last")
    return rows.step.to_numpy(np.int64), rows.value.to_numpy(float)


def chain_sentence(
    causes: list[Finding],
    symptoms: list[Finding],
    critic_clear: bool = False,
    passed_over: list[Finding] | None = None,
) -> str:
    """'policy drift, caused by critic extrapolation', or the bare cause without symptoms;
    `critic_clear`: both critic links were read and are clear (an update is then its own cause,
    the actor's step); `passed_over`: fired links upstream of the named one ('policy drift,
    after large first policy updates')."""
    parts = [c.title for c in causes if c.cause == "spiral"]  # named first, a candidate cause
    spiral_named = bool(parts)
    chain = [c for c in causes if c.cause in CHAIN]
    confident = " from a confident critic" if critic_clear else ""
    if chain:
        root = chain[0]
        if symptoms:
            parts.append(f"{symptoms[-1].title}, caused by {root.title}")
        elif passed_over:
            parts.append(f"{root.title}, after {passed_over[-1].title}{confident}")
        elif root.cause == "update" and critic_clear:
            parts.append(f"{root.title}{confident}")
        elif root.cause in ("update", "drift") and not spiral_named:
            parts.append(f"{root.title}, its cause not identified by the probes")
        else:
            parts.append(root.title)
    parts += [c.title for c in causes if c.cause in BRANCHES and c.cause != "spiral"]
    return "; ".join(parts)


def _verdict(deg: Degradation | None, diagnosis: Diagnosis, th: Thresholds) -> str:
    if deg is None:
        return "no verdict: the run has no baseline or no evaluation after the warm-up"
    share = (
        f" ({deg.dip_reference})"
        if deg.dip_fraction is None
        else f" = {100 * deg.dip_fraction:.1f}% of {deg.dip_reference}"
    )
    dip = (
        f"dip {_g(deg.dip)}{share} "
        f"(R0 {_g(deg.baseline)}, min {_g(deg.min_return)} at step {deg.min_step})"
    )
    if deg.dip_fraction is None:
        return f"not judged: {dip}; a pretrained policy no better than random has nothing to lose"
    if not diagnosis.significant:
        return f"no significant degradation: {dip}, below {100 * th.min_dip_fraction:.0f}%"
    if not diagnosis.causes:
        return f"degradation without a cause the probes can name: {dip}"
    critic = [f for f in diagnosis.findings if f.cause in CRITIC_LINKS]
    critic_clear = bool(critic) and all(f.status == CLEAR for f in critic)
    return f"degradation, {dip}; " + chain_sentence(
        diagnosis.causes, diagnosis.symptoms, critic_clear, diagnosis.passed_over
    )


def diagnose(
    metrics: pd.DataFrame,
    *,
    policy_start: int,
    update_start: int,
    thresholds: Thresholds | None = None,
    r_random: float | None = None,
    warm: WarmStart | None = None,
) -> Diagnosis:
    """Degradation metrics, every rule's finding and the verdict (module docstring)."""
    th = thresholds or Thresholds()
    curve = eval_curve(metrics)
    base = metrics[metrics.key == "eval/baseline_return"].value
    deg = None
    if len(base) and (curve[0] >= policy_start).any():
        deg = degradation(
            *curve,
            float(base.iloc[0]),
            start=policy_start,
            r_random=r_random,
            tolerance=th.recover_tolerance,
        )
    significant = (
        deg is not None
        and deg.dip > 0
        and deg.dip_fraction is not None
        and deg.dip_fraction >= th.min_dip_fraction
    )
    ev = Evidence(metrics, deg, update_start, th, warm or WarmStart())
    if ev.ref is None:
        findings = [
            Finding(c, NA, "no probe at or before the start of policy updates") for c in TITLES
        ]
    else:
        findings = all_findings(ev, curve)
    partial = Diagnosis(significant, deg, "", findings, th.drift_over_update)
    return Diagnosis(significant, deg, _verdict(deg, partial, th), findings, th.drift_over_update)
