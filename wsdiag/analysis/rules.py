"""The diagnosis rules, one per link of the mechanism chain, each citing the numbers it used.

The chain (Wexler et al.; Zhou et al.; the TD3BC++ paper) runs

    critic (extrapolation, gradient) -> policy change (update) -> drift -> return,

with bootstrapping (spiral) and closeness on non-expert data as branches of their own. Every
rule reads `Evidence` (ref, W, growth and shift are defined there); thresholds are `Thresholds`
fields, documented in docs/diagnosis.md with the exact definitions below.

- extrapolation: the critic the first policy updates follow (the one at ref; with no warm-up
  and a fresh critic, the untrained network at step 0 carries no information, so the first probe
  after ref) fails one of: P <= 0.5 + percentile_band (it prefers the behavioural action to no
  more than ~65% of its perturbations; one-sided, the strongest extrapolation is P << 0.5; read
  only without a trained pretrained critic or when P_pre too is in the band, unless
  band_with_reference: a critic trained on the expert's own rollouts can sit in the band, and a
  confident P_pre is the better reference);
  P <= P_pre - confidence_gap (less confident than the pretrained critic, when that critic was
  trained); the pooled cos(dQ/da, dQ_pre/da) over the probe pairs <= grad_cos_min (its action
  gradient points elsewhere; `grad_cos_pooled/behaviour`, or the mean per-pair cosine
  `grad_cos/behaviour` in runs recorded before it).
- update: the first policy updates are large: rms_1 = action_rms/online at the first probe
  after ref (the per-dimension action change since pi_pre, in half-ranges) >= update_rms.
- gradient: its ||dQ/da|| at ref is >= grad_ratio x the pretrained critic's (only when that one
  was trained) and the first updates are not small: a steep critic, not a wrong one, moves the
  policy (a stronger expert sits where it is steeper); or, with no trained pretrained critic to
  compare with, the first updates are large (update) while the critic is not extrapolating.
  With a trained reference and a ratio below grad_ratio, large first updates from a confident
  critic name the update link itself as the cause: the actor's step, not the critic's slope.
- drift: max_W action_rms/online >= drift_rms and corr(action_rms/online, shortfall) >=
  drift_corr over {ref} + W (>= 3 probes), shortfall = max(0, R0 - R(t)). KL(pi_pre || pi) is
  quoted, not thresholded: for a deterministic actor it is ||delta mu||^2 / (2 sigma_expl^2).
- spiral: growth(td_error/behaviour) >= spiral_td_growth and growth(td_error/online) <=
  spiral_flat_growth, or shift(q/behaviour) >= spiral_q_shift and shift(q/online) <=
  spiral_flat_q_shift; or, with spiral_structural, the warm start itself: a trained critic
  loaded without the data it was trained on (no replay buffer, no offline data kept), the
  setting in which a critic can only bootstrap on the new policy's data. Its dips need not
  show the probe signature (a late dip, the TD errors flat). A fired spiral is named first
  (`Diagnosis.causes`): a critic that bootstraps on its own errors is upstream of every
  update it drives.
- closeness: on the non-expert transitions, max_W divergence - divergence(ref) >=
  closeness_shift (squared action distance; an absolute rise, since random actions start far)
  and growth(grad_norm/label/<non-expert>) >= closeness_grad_growth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wsdiag import probe_keys as keys
from wsdiag.analysis.evidence import EPS, Evidence
from wsdiag.analysis.fmt import num as _g
from wsdiag.analysis.mitigations import mitigations_for
from wsdiag.errors import WsdiagError

FIRED, CLEAR, NA = "fired", "clear", "n/a"
TITLES = {
    "extrapolation": "critic extrapolation",
    "gradient": "steep critic (large action gradients)",
    "update": "large first policy updates",
    "drift": "policy drift",
    "spiral": "bootstrapping / downward spiral",
    "closeness": "failed closeness on non-expert data",
}
CHAIN = ("extrapolation", "gradient", "update", "drift")  # upstream first


def cause_named(name: str) -> str:
    """The cause a user names: its key (`extrapolation`) or its title as printed, in any case,
    with `_` or `-` for spaces and with or without its parenthesis (`critic_extrapolation`,
    `Steep critic`)."""

    def plain(text: str) -> str:
        return " ".join(text.lower().replace("_", " ").replace("-", " ").split())

    wanted = plain(name)
    for key, title in TITLES.items():
        if wanted in (key, plain(title), plain(title.split(" (")[0])):
            return key
    known = ", ".join(f"{key} ({title})" for key, title in TITLES.items())
    raise WsdiagError(f"unknown cause '{name}' (known: {known})")


BRANCHES = ("spiral", "closeness")


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


def _critic_probe(ev: Evidence, name: keys.Key) -> tuple[int, float] | None:
    """(step, value) of `name` for the critic the first policy updates follow (module doc)."""
    if ev.ref == 0 and not ev.warm.critic_loaded:
        return ev.first_after(name)
    value = ev.at_ref(name)
    return None if value is None else (int(ev.ref or 0), value)


def extrapolation(ev: Evidence) -> Finding:
    own = _critic_probe(ev, keys.Q_PERCENTILE)
    if own is None:
        missing = f"no {keys.Q_PERCENTILE.name} probe of the critic before updates"
        return Finding("extrapolation", NA, missing)
    step, p = own
    th, parts, fired = ev.th, [], []
    numbers = {keys.Q_PERCENTILE.name: p, "step": float(step)}
    untrained = " (no warm-up: the first probe after updates began)" if step != ev.ref else ""
    parts.append(f"Q-percentile of the behavioural actions {_g(p)} at step {step}{untrained}")
    pre = None
    if ev.warm.reference_critic:
        pre = _critic_probe(ev, keys.pretrained(keys.Q_PERCENTILE))
    band = 0.5 + th.percentile_band  # a reference inside it too has no preference to lose
    if (pre is None or th.band_with_reference or pre[1] <= band) and p <= band:
        also = " (the pretrained critic's too)" if pre is not None and pre[1] <= band else ""
        fired.append(f"at most 0.5 + {_g(th.percentile_band)}: no preference for a_beta{also}")
    if pre is not None:
        numbers["pretrained_q_percentile"] = pre[1]
        parts.append(f"pretrained critic {_g(pre[1])}")
        if p <= pre[1] - th.confidence_gap:
            fired.append(f"{_g(pre[1] - p)} below the pretrained critic's")
    cos = None
    if ev.warm.reference_critic:  # the pooled cosine; runs recorded before it have the mean
        cos = _critic_probe(ev, keys.GRAD_COS_POOLED_BEHAVIOUR) or _critic_probe(
            ev, keys.GRAD_COS_BEHAVIOUR
        )
    if cos is not None:
        numbers["grad_cos"] = cos[1]
        parts.append(f"cos(dQ/da, dQ_pre/da) {_g(cos[1])}")
        if cos[1] <= th.grad_cos_min:
            fired.append(f"gradient direction cosine at most {_g(th.grad_cos_min)}")
    text = ", ".join(parts) + (": " + "; ".join(fired) if fired else ": the critic is confident")
    return Finding("extrapolation", FIRED if fired else CLEAR, text, numbers)


def _rms_series(ev: Evidence) -> tuple[keys.ProbeKey, str]:
    """The action-change series and its unit (older runs recorded only action_mse)."""
    if len(ev.get(keys.ACTION_RMS_ONLINE)[0]):
        return keys.ACTION_RMS_ONLINE, "per dimension"
    return keys.ACTION_MSE_ONLINE, "per state, ||.||_2"


def _rms(key: keys.ProbeKey, value: Any) -> Any:
    """The action change of a value (or array) of `key`: action_mse is a squared distance."""
    return np.sqrt(np.maximum(value, 0.0)) if key == keys.ACTION_MSE_ONLINE else value


def update(ev: Evidence) -> Finding:
    name, unit = _rms_series(ev)
    first = ev.first_after(name)
    if first is None:
        return Finding("update", NA, "no action-change probe after policy updates began")
    step, rms = first[0], float(_rms(name, first[1]))
    grad = ev.at_ref(keys.POLICY_GRAD_NORM)
    numbers = {"action_rms": rms, "step": float(step)}
    text = f"actions moved {_g(rms)} ({unit}, in half-ranges) from pi_pre by step {step}"
    if grad is not None:
        numbers[keys.POLICY_GRAD_NORM.name] = grad
        text += f", policy-gradient norm {_g(grad)} at step {ev.ref}"
    text += f" (threshold {_g(ev.th.update_rms)})"
    return Finding("update", FIRED if rms >= ev.th.update_rms else CLEAR, text, numbers)


def gradient(ev: Evidence, first_update: Finding, critic: Finding) -> Finding:
    g = ev.at_ref(keys.stat(keys.GRAD_NORM_BEHAVIOUR, keys.MEAN))
    if g is None:
        missing = f"no {keys.GRAD_NORM_BEHAVIOUR.name} probe before policy updates"
        return Finding("gradient", NA, missing)
    numbers, parts = {"grad_norm": g}, [f"||dQ/da|| at the behavioural actions {_g(g)}"]
    steeper = False  # read only with a trained reference
    pre = None
    if ev.warm.reference_critic:
        pre = ev.at_ref(keys.stat(keys.pretrained(keys.GRAD_NORM_BEHAVIOUR), keys.MEAN))
    if pre is not None:
        ratio = g / max(pre, EPS)
        numbers["ratio"] = ratio
        steeper = ratio >= ev.th.grad_ratio
        parts.append(f"{_g(ratio)}x the pretrained critic's {_g(pre)} (threshold "
                     f"{_g(ev.th.grad_ratio)}x)")  # fmt: skip
    if pre is None:  # no trained reference: a confident critic's large first updates
        fired = first_update.fired and critic.status == CLEAR
        why = "large first updates from a confident critic" if fired else ""
    elif steeper:
        fired = first_update.status != CLEAR
        why = "a steeper critic" if fired else ""
    else:  # as steep as its reference: the step itself (the update link) is the lever
        fired, step = False, "no steeper than the pretrained critic: the step, not the slope"
        why = step if first_update.fired else ""
    text = ", ".join(parts) + (f": {why}" if why else "")
    return Finding("gradient", FIRED if fired else CLEAR, text, numbers)


def drift(ev: Evidence, curve: tuple[np.ndarray, np.ndarray]) -> Finding:
    name, unit = _rms_series(ev)
    steps, values = ev.window(name, include_ref=True)
    if len(steps) < 3 or ev.deg is None or len(curve[0]) == 0:
        return Finding("drift", NA, "fewer than 3 action-change probes over the dip")
    rms = _rms(name, values)
    shortfall = np.maximum(0.0, ev.deg.baseline - np.interp(steps, *curve))
    corr = 0.0
    if np.ptp(shortfall) > 0 and np.ptp(rms) > 0:
        corr = float(np.corrcoef(rms, shortfall)[0, 1])
    i = int(np.argmax(rms))
    numbers = {"corr": corr, "action_rms_peak": float(rms[i]), "probes": float(len(steps))}
    _, kl = ev.window(keys.KL_ONLINE, include_ref=True)
    kl_text = f"; KL(pi_pre || pi) peak {_g(kl.max())} nats" if len(kl) else ""
    fired = rms[i] >= ev.th.drift_rms and corr >= ev.th.drift_corr
    text = (
        f"action change from pi_pre on online states peaked at {_g(rms[i])} ({unit}) at step "
        f"{steps[i]} (threshold {_g(ev.th.drift_rms)}), corr with the return shortfall "
        f"{corr:.2f} over {len(steps)} probes (threshold {_g(ev.th.drift_corr)}){kl_text}"
    )
    return Finding("drift", FIRED if fired else CLEAR, text, numbers)


def spiral(ev: Evidence) -> Finding:
    th = ev.th
    td_off, td_on = ev.growth(keys.TD_ERROR_BEHAVIOUR), ev.growth(keys.TD_ERROR_ONLINE)
    q_off, q_on = ev.shift(keys.Q_BEHAVIOUR), ev.shift(keys.Q_ONLINE)
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
    warm = ev.warm
    without_data = warm.critic_loaded and warm.reference_critic and not warm.data_retained
    if th.spiral_structural and without_data:
        fired = True
        parts.append("the pretrained critic was loaded without the data it was trained on "
                     "(no replay buffer, no offline data kept)")  # fmt: skip
    if not parts:
        return Finding("spiral", NA, "no behavioural-set and online TD-error or Q-level probes")
    return Finding("spiral", FIRED if fired else CLEAR, "; ".join(parts), numbers)


def closeness(ev: Evidence) -> Finding:
    label = ev.th.non_expert_label
    div_ref = ev.at_ref(keys.DIVERGENCE.of(label))
    if div_ref is None:
        return Finding("closeness", NA, f"no '{label}' transitions in the probe set")
    grad = ev.growth(keys.GRAD_NORM_LABEL.of(label))
    if grad is None:
        return Finding("closeness", NA, f"no {keys.GRAD_NORM_LABEL.of(label)} probes")
    _, div = ev.window(keys.DIVERGENCE.of(label))
    rise = float(div.max() - div_ref) if len(div) else 0.0
    numbers = {"divergence_rise": rise, "grad_growth": grad[0]}
    met = {
        "divergence rise": rise >= ev.th.closeness_shift,
        "gradient growth": grad[0] >= ev.th.closeness_grad_growth,
    }
    fired = all(met.values())
    text = (
        f"divergence from {label} actions rose by {_g(rise)} from {_g(div_ref)} (threshold "
        f"{_g(ev.th.closeness_shift)}) with ||dQ/da|| at {label} actions x{_g(grad[0])} "
        f"({_g(grad[1])} -> {_g(grad[2])} at step {grad[3]}, threshold "
        f"{_g(ev.th.closeness_grad_growth)}x)"
    )
    if not fired:  # both conditions are needed: say which one was not met
        text += "; not met: " + ", ".join(name for name, ok in met.items() if not ok)
    return Finding("closeness", FIRED if fired else CLEAR, text, numbers)


def all_findings(ev: Evidence, curve: tuple[np.ndarray, np.ndarray]) -> list[Finding]:
    """Every rule's finding, in chain order then the branches."""
    critic, first_update = extrapolation(ev), update(ev)
    steep = gradient(ev, first_update, critic)
    return [critic, steep, first_update, drift(ev, curve), spiral(ev), closeness(ev)]
