"""Rules that name the causes of a run's degradation, each citing the numbers it used.

Inputs: the long-form metrics table (`probe/*`, `eval/return`, `eval/baseline_return`), the
step t_0 at which the new agent starts acting and the step t_u at which policy updates begin.

- significance: dip > 0 and dip_fraction >= min_dip_fraction (see `degradation`); otherwise
  the verdict is "no significant degradation" and the rules are still reported.
- ref: the last probe at or before t_u (right before policy updates); a series without a value
  there is referenced to its first value. W: the probes after the reference up to the recovery
  step (to the end if not recovered; at least the first probe after ref).
  growth(x) = max_W x / x(ref);  shift(x) = max_W |x - x(ref)| / |x(ref)|.

Rules (thresholds in `Thresholds`, documented in docs/metrics.md):

- extrapolation error: |q_percentile(ref) - 0.5| <= percentile_band.
- gradient error: max over {ref} + W of grad_norm/behaviour/mean divided by the pretrained
  critic's pretrained/grad_norm/behaviour/mean at the same probe >= grad_ratio.
- downward spiral: growth(td_error/behaviour) >= spiral_td_growth and growth(td_error/online) <=
  spiral_flat_growth, or shift(q/behaviour) >= spiral_q_shift and shift(q/online) <=
  spiral_flat_q_shift.
- forgetting: Pearson corr(kl/online, shortfall) >= forgetting_corr over the probes of
  {ref} + W (at least 3), with shortfall = max(0, R0 - R(t)) (R interpolated between
  evaluations), and max over {ref} + W of kl/online >= forgetting_kl.
- failed closeness on non-expert data: growth(divergence/<non-expert>) >= closeness_growth and
  growth(grad_norm/behaviour/mean) >= closeness_grad_growth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wsdiag.analysis.degradation import Degradation, degradation
from wsdiag.analysis.fmt import num as _g
from wsdiag.analysis.mitigations import mitigations_for
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.core import ONLINE_PHASES

FIRED, CLEAR, NA = "fired", "clear", "n/a"
TITLES = {
    "extrapolation": "extrapolation error",
    "gradient": "gradient error",
    "spiral": "bootstrapping / downward spiral",
    "forgetting": "forgetting",
    "closeness": "failed closeness on non-expert data",
}
EPS = 1e-8


@dataclass(frozen=True)
class Finding:
    """One rule's outcome: status fired / clear / n/a, a sentence with its numbers."""

    cause: str
    status: str
    evidence: str
    numbers: dict[str, float] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES[self.cause]

    @property
    def fired(self) -> bool:
        return self.status == FIRED

    @property
    def mitigations(self) -> tuple[str, ...]:
        return mitigations_for(self.cause)


@dataclass(frozen=True)
class Diagnosis:
    significant: bool
    degradation: Degradation | None
    verdict: str
    findings: list[Finding]

    @property
    def causes(self) -> list[Finding]:
        """The fired rules when the degradation is significant (those the verdict names)."""
        return [f for f in self.findings if f.fired] if self.significant else []


class Evidence:
    """Probe series of the online stage, the reference probe and the window W."""

    def __init__(
        self, metrics: pd.DataFrame, deg: Degradation | None, update_start: int, th: Thresholds
    ) -> None:
        online = metrics[metrics.phase.isin(ONLINE_PHASES)]
        self.series = {
            k: (g.step.to_numpy(np.int64), g.value.to_numpy(float))
            for k, g in online.sort_values("step", kind="stable").groupby("key")
        }
        self.deg, self.th = deg, th
        probed = [s for k, (s, _) in self.series.items() if k.startswith("probe/")]
        steps = np.unique(np.concatenate(probed)) if probed else np.zeros(0, np.int64)
        before = steps[steps <= update_start]
        self.ref: int | None = int(before[-1]) if len(before) else None
        end = steps[-1] if len(steps) else 0
        if deg is not None and deg.recovery_step is not None and deg.dip > 0:
            end = deg.recovery_step
        after = steps[steps > (self.ref if self.ref is not None else -1)]
        if len(after) and end < after[0]:
            end = after[0]
        self.end = int(end)

    def get(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self.series.get(f"probe/{name}", (np.zeros(0, np.int64), np.zeros(0)))

    def _ref_index(self, name: str) -> int | None:
        """Index of a series' reference: its last value at or before ref, else its first value
        (a series that starts later, e.g. the online TD error without online data at step 0)."""
        steps, _ = self.get(name)
        if not len(steps) or self.ref is None:
            return None
        before = np.nonzero(steps <= self.ref)[0]
        if len(before):
            return int(before[-1])
        return 0 if steps[0] <= self.end else None

    def at_ref(self, name: str) -> float | None:
        i = self._ref_index(name)
        return None if i is None else float(self.get(name)[1][i])

    def window(self, name: str, include_ref: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The series over W: after its reference (from it with include_ref) up to the end."""
        steps, values = self.get(name)
        i = self._ref_index(name)
        if i is None:
            return steps[:0], values[:0]
        low = steps >= steps[i] if include_ref else steps > steps[i]
        keep = low & (steps <= self.end)
        return steps[keep], values[keep]

    def growth(self, name: str) -> tuple[float, float, float, int] | None:
        """(growth, value at ref, peak value, peak step), or None without data."""
        ref = self.at_ref(name)
        steps, values = self.window(name)
        if ref is None or len(values) == 0:
            return None
        i = int(np.argmax(values))
        return float(values[i] / max(ref, EPS)), ref, float(values[i]), int(steps[i])

    def shift(self, name: str) -> tuple[float, float, float, int] | None:
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


def _extrapolation(ev: Evidence) -> Finding:
    p = ev.at_ref("q_percentile")
    if p is None:
        return Finding("extrapolation", NA, "no q_percentile probe before policy updates")
    band = ev.th.percentile_band
    pre = ev.at_ref("pretrained/q_percentile")
    pre_text = f" (pretrained critic: {_g(pre)})" if pre is not None else ""
    numbers = {"q_percentile": p, "step": float(ev.ref or 0)}
    if pre is not None:
        numbers["pretrained_q_percentile"] = pre
    where = f"Q-percentile of the behavioural actions at step {ev.ref}, before policy updates"
    if abs(p - 0.5) <= band:
        text = (
            f"{where}: {_g(p)}, within {_g(band)} of 0.5{pre_text}: the critic ranks the "
            "behavioural action like a random perturbation of it"
        )
        return Finding("extrapolation", FIRED, text, numbers)
    return Finding(
        "extrapolation", CLEAR, f"{where}: {_g(p)}, not within 0.5 ± {_g(band)}{pre_text}", numbers
    )


def _gradient(ev: Evidence) -> Finding:
    steps, agent = ev.window("grad_norm/behaviour/mean", include_ref=True)
    pre_steps, pre = ev.get("pretrained/grad_norm/behaviour/mean")
    if len(steps) == 0:
        return Finding("gradient", NA, "no grad_norm/behaviour probe after policy updates")
    if len(pre) == 0:
        return Finding("gradient", NA, "no reference: pretrained/grad_norm/behaviour not recorded")
    reference = np.interp(steps, pre_steps, pre)
    ratios = agent / np.maximum(reference, EPS)
    i = int(np.argmax(ratios))
    numbers = {
        "ratio": float(ratios[i]),
        "grad_norm": float(agent[i]),
        "pretrained_grad_norm": float(reference[i]),
        "step": float(steps[i]),
    }
    text = (
        f"||dQ/da|| at the behavioural actions peaked at {_g(agent[i])} at step {steps[i]}, "
        f"{_g(ratios[i])}x the pretrained critic's {_g(reference[i])} "
        f"(threshold {_g(ev.th.grad_ratio)}x)"
    )
    return Finding("gradient", FIRED if ratios[i] >= ev.th.grad_ratio else CLEAR, text, numbers)


def _spiral(ev: Evidence) -> Finding:
    th = ev.th
    td_off, td_on = ev.growth("td_error/behaviour"), ev.growth("td_error/online")
    q_off, q_on = ev.shift("q/behaviour"), ev.shift("q/online")
    parts, numbers, fired = [], {}, False
    if td_off and td_on:
        numbers |= {"td_behaviour_growth": td_off[0], "td_online_growth": td_on[0]}
        fired |= td_off[0] >= th.spiral_td_growth and td_on[0] <= th.spiral_flat_growth
        parts.append(
            f"behavioural-set TD error x{_g(td_off[0])} ({_g(td_off[1])} -> {_g(td_off[2])} at "
            f"step {td_off[3]}) vs online x{_g(td_on[0])} (thresholds: behavioural >= "
            f"{_g(th.spiral_td_growth)}x, online <= {_g(th.spiral_flat_growth)}x)"
        )
    if q_off and q_on:
        numbers |= {"q_behaviour_shift": q_off[0], "q_online_shift": q_on[0]}
        fired |= q_off[0] >= th.spiral_q_shift and q_on[0] <= th.spiral_flat_q_shift
        parts.append(
            f"behavioural-set Q level moved {100 * q_off[0]:.0f}% ({_g(q_off[1])} -> "
            f"{_g(q_off[2])} at step {q_off[3]}) vs online {100 * q_on[0]:.0f}% "
            f"(thresholds: behavioural >= {100 * th.spiral_q_shift:.0f}%, online <= "
            f"{100 * th.spiral_flat_q_shift:.0f}%)"
        )
    if not parts:
        return Finding("spiral", NA, "no behavioural-set and online TD-error or Q-level probes")
    return Finding("spiral", FIRED if fired else CLEAR, "; ".join(parts), numbers)


def _forgetting(ev: Evidence, curve: tuple[np.ndarray, np.ndarray]) -> Finding:
    steps, kl = ev.window("kl/online", include_ref=True)
    if len(steps) < 3 or ev.deg is None or len(curve[0]) == 0:
        return Finding("forgetting", NA, "fewer than 3 kl/online probes over the dip")
    shortfall = np.maximum(0.0, ev.deg.baseline - np.interp(steps, *curve))
    peak = float(kl.max())
    if np.ptp(shortfall) == 0 or np.ptp(kl) == 0:
        corr = 0.0
    else:
        corr = float(np.corrcoef(kl, shortfall)[0, 1])
    numbers = {"corr": corr, "kl_peak": peak, "probes": float(len(steps))}
    fired = corr >= ev.th.forgetting_corr and peak >= ev.th.forgetting_kl
    text = (
        f"KL(pi_pre || pi) on online states vs the return shortfall: corr {corr:.2f} over "
        f"{len(steps)} probes (threshold {_g(ev.th.forgetting_corr)}), peak KL {_g(peak)} "
        f"nats at step {steps[int(np.argmax(kl))]} (threshold {_g(ev.th.forgetting_kl)})"
    )
    return Finding("forgetting", FIRED if fired else CLEAR, text, numbers)


def _closeness(ev: Evidence) -> Finding:
    label = ev.th.non_expert_label
    div, grad = ev.growth(f"divergence/{label}"), ev.growth("grad_norm/behaviour/mean")
    if div is None:
        return Finding("closeness", NA, f"no '{label}' transitions in the probe set")
    if grad is None:
        return Finding("closeness", NA, "no grad_norm/behaviour probes")
    numbers = {"divergence_growth": div[0], "grad_growth": grad[0]}
    fired = div[0] >= ev.th.closeness_growth and grad[0] >= ev.th.closeness_grad_growth
    text = (
        f"divergence from {label} actions x{_g(div[0])} ({_g(div[1])} -> {_g(div[2])} at step "
        f"{div[3]}, threshold {_g(ev.th.closeness_growth)}x) with ||dQ/da|| x{_g(grad[0])} "
        f"(threshold {_g(ev.th.closeness_grad_growth)}x)"
    )
    return Finding("closeness", FIRED if fired else CLEAR, text, numbers)


RULES: tuple[Callable[[Evidence], Finding], ...] = (_extrapolation, _gradient, _spiral)


def _eval_curve(metrics: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    rows = metrics[(metrics.key == "eval/return") & metrics.phase.isin(ONLINE_PHASES)]
    rows = rows.sort_values("step", kind="stable").drop_duplicates("step", keep="last")
    return rows.step.to_numpy(np.int64), rows.value.to_numpy(float)


def _verdict(
    deg: Degradation | None, significant: bool, causes: list[Finding], th: Thresholds
) -> str:
    if deg is None:
        return "no verdict: the run has no baseline or no evaluation after the warm-up"
    dip = (
        f"dip {_g(deg.dip)} = {100 * deg.dip_fraction:.1f}% of {deg.dip_reference} "
        f"(R0 {_g(deg.baseline)}, min {_g(deg.min_return)} at step {deg.min_step})"
    )
    if not significant:
        return f"no significant degradation: {dip}, below {100 * th.min_dip_fraction:.0f}%"
    if not causes:
        return f"degradation without a cause the probes can name: {dip}"
    return f"degradation, {dip}; likely cause: " + ", ".join(c.title for c in causes)


def diagnose(
    metrics: pd.DataFrame,
    *,
    policy_start: int,
    update_start: int,
    thresholds: Thresholds | None = None,
    r_random: float | None = None,
) -> Diagnosis:
    """Degradation metrics, every rule's finding and a one-line verdict (module docstring)."""
    th = thresholds or Thresholds()
    curve = _eval_curve(metrics)
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
    significant = deg is not None and deg.dip > 0 and deg.dip_fraction >= th.min_dip_fraction
    ev = Evidence(metrics, deg, update_start, th)
    if ev.ref is None:
        findings = [
            Finding(c, NA, "no probe at or before the start of policy updates") for c in TITLES
        ]
    else:
        findings = [rule(ev) for rule in RULES] + [_forgetting(ev, curve), _closeness(ev)]
    causes = [f for f in findings if f.fired] if significant else []
    return Diagnosis(significant, deg, _verdict(deg, significant, causes, th), findings)
