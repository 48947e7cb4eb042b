"""The diagnosis rules along the mechanism chain, on synthetic metric tables built to show and not
show each cause, including the misfires of the earlier rules (docs/diagnosis.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import tiny_config
from wsdiag.analysis import Diagnosis, Thresholds, diagnose
from wsdiag.analysis.evidence import WarmStart
from wsdiag.analysis.thresholds import thresholds_from
from wsdiag.errors import WsdiagError

UPDATE = 1000  # policy updates begin (warm-up 1000, no freeze)
PROBE_STEPS = [0, 1000, 2000, 3000, 4000, 6000, 8000]
EVAL_STEPS = list(range(0, 8001, 500))


def _returns(dip: float) -> list[float]:
    """R0 = 100, a V-shaped dip of depth `dip` bottoming at step 3000, back to 100 at 6000."""
    out = []
    for t in EVAL_STEPS:
        if t <= UPDATE or t >= 6000:
            out.append(100.0 if t < 6000 else 110.0)
        else:
            out.append(100 - dip * (1 - abs(t - 3000) / 3000 if t <= 3000 else (6000 - t) / 3000))
    return out


NEUTRAL = {  # a confident critic, small updates, no drift, flat TD errors
    "q_percentile": [0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
    "pretrained/q_percentile": [0.95] * 7,
    "grad_cos/behaviour": [0.9] * 7,
    "grad_norm/behaviour/mean": [1.0] * 7,
    "pretrained/grad_norm/behaviour/mean": [1.0] * 7,
    "policy_grad_norm": [0.5] * 7,
    "action_rms/online": [0.0, 0.0, 0.05, 0.05, 0.05, 0.05, 0.05],
    "kl/online": [0.01] * 7,
    "td_error/behaviour": [1.0] * 7,
    "td_error/online": [1.0] * 7,
    "q/behaviour": [-10.0] * 7,
    "q/online": [-10.0] * 7,
    "divergence/behaviour": [0.1] * 7,
}
LARGE_UPDATE = {"action_rms/online": [0.0, 0.0, 0.5, 0.4, 0.2, 0.05, 0.05]}  # tracks the dip


def _rows(key: str, steps: list[int], values: list[float]) -> list[tuple[int, str, str, float]]:
    phases = ["warmup" if t < UPDATE else "finetune" for t in steps]
    return list(zip(steps, phases, [key] * len(steps), values, strict=True))


def metrics_table(dip: float = 80.0, **probes: list[float]) -> pd.DataFrame:
    """A long-form metrics table: evaluations with the given dip and probe series."""
    rows = [(0, "warmup", "eval/baseline_return", 100.0)]
    rows += _rows("eval/return", EVAL_STEPS, _returns(dip))
    for name, values in {**NEUTRAL, **probes}.items():
        if values is not None:
            rows += _rows(f"probe/{name}", PROBE_STEPS, values)
    return pd.DataFrame(rows, columns=["step", "phase", "key", "value"])


def run_diagnosis(
    table: pd.DataFrame, warm: WarmStart | None = None, start: int = UPDATE, **th: float
) -> Diagnosis:
    th_ = Thresholds(**th)
    return diagnose(table, policy_start=start, update_start=start, thresholds=th_, warm=warm)


def finding(d: Diagnosis, cause: str):
    return next(f for f in d.findings if f.cause == cause)


def test_neutral_probes_name_no_cause() -> None:
    d = run_diagnosis(metrics_table())
    assert d.significant and d.causes == [] and d.symptoms == []
    assert "without a cause the probes can name" in d.verdict
    assert "dip 80" in d.verdict and "80.0% of |R0|" in d.verdict


def test_no_significant_degradation_still_reports_the_rules() -> None:
    d = run_diagnosis(metrics_table(dip=5.0, q_percentile=[0.5] * 7))
    assert not d.significant and d.causes == []
    assert d.verdict.startswith("no significant degradation") and "below 10%" in d.verdict
    assert finding(d, "extrapolation").fired


def test_extrapolation_names_the_chain_with_its_symptoms() -> None:
    d = run_diagnosis(metrics_table(q_percentile=[0.5, 0.52, 0.6, 0.7, 0.8, 0.9, 0.9],
                                    **LARGE_UPDATE))  # fmt: skip
    assert [f.cause for f in d.causes] == ["extrapolation"]
    assert [f.cause for f in d.symptoms] == ["update", "drift"]
    assert d.verdict.endswith("policy drift, caused by critic extrapolation")
    evidence = finding(d, "extrapolation").evidence
    assert "0.52 at step 1000" in evidence and "pretrained critic 0.95" in evidence
    assert finding(d, "gradient").status == "clear"  # the critic is wrong, not steep


def test_strong_extrapolation_below_the_band_fires() -> None:
    """P << 0.5 (most perturbations valued above a_beta) is the strongest extrapolation."""
    table = metrics_table(q_percentile=[0.5, 0.2, 0.3, 0.5, 0.8, 0.9, 0.9])
    d = run_diagnosis(table, WarmStart(reference_critic=False))
    assert finding(d, "extrapolation").fired and "no preference" in d.findings[0].evidence


def test_the_absolute_band_is_read_only_without_a_trained_reference() -> None:
    """A critic as confident as the pretrained one (0.6 against 0.68) reads no preference on
    the absolute band, which a critic trained on the expert's own rollouts can sit in; a
    pretrained critic inside the band has no preference to lose, and the band is read."""
    table = metrics_table(**{"q_percentile": [0.5, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9],
                             "pretrained/q_percentile": [0.68] * 7})  # fmt: skip
    assert finding(run_diagnosis(table), "extrapolation").status == "clear"
    both = run_diagnosis(table, band_with_reference=True)
    assert finding(both, "extrapolation").fired and "no preference" in both.findings[0].evidence
    bc = run_diagnosis(table, WarmStart(reference_critic=False))
    assert finding(bc, "extrapolation").fired
    unsure = metrics_table(
        **{
            "q_percentile": [0.5, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9],
            "pretrained/q_percentile": [0.6] * 7,
        }
    )  # an IQL critic, say
    fired = finding(run_diagnosis(unsure, WarmStart(critic_loaded=True)), "extrapolation")
    assert fired.fired and "(the pretrained critic's too)" in fired.evidence
    assert thresholds_from(["diagnose.band_with_reference=true"]).band_with_reference
    with pytest.raises(WsdiagError, match="expected true or false"):
        thresholds_from(["diagnose.band_with_reference=1"])


def test_confidence_is_compared_with_the_pretrained_critic_only_when_it_was_trained() -> None:
    table = metrics_table(q_percentile=[0.5, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9])
    evidence = finding(run_diagnosis(table), "extrapolation").evidence
    assert "below the pretrained critic's" in evidence
    bc = run_diagnosis(table, WarmStart(reference_critic=False))
    assert finding(bc, "extrapolation").status == "clear"


def test_gradient_direction_disagreeing_with_the_pretrained_critic_fires() -> None:
    d = run_diagnosis(metrics_table(**{"grad_cos/behaviour": [0.0, 0.1, 0.5, 0.9, 0.9, 0.9, 0.9]}))
    assert finding(d, "extrapolation").fired and "cosine" in d.findings[0].evidence


def test_the_pooled_gradient_cosine_is_read_before_the_mean_one() -> None:
    """In one action dimension the per-pair cosine is a sign, so its mean reads low where the
    gradients near the optimum are small noise; the pooled cosine weights pairs by size."""
    low_mean = {"grad_cos/behaviour": [0.0, 0.1, 0.5, 0.9, 0.9, 0.9, 0.9]}
    agreeing = run_diagnosis(metrics_table(**low_mean, **{"grad_cos_pooled/behaviour": [0.9] * 7}))
    assert finding(agreeing, "extrapolation").status == "clear"
    assert "cos(dQ/da, dQ_pre/da) 0.9" in agreeing.findings[0].evidence
    opposed = run_diagnosis(metrics_table(**{"grad_cos_pooled/behaviour": [0.1] * 7}))
    assert finding(opposed, "extrapolation").fired  # the mean cosine (0.9) is not read


def test_no_warm_up_reads_the_critic_after_its_first_updates() -> None:
    """At step 0 a fresh critic is an initialised network (P = 0.5 by construction)."""
    table = metrics_table(q_percentile=[0.5, 0.88, 0.9, 0.9, 0.9, 0.9, 0.9])
    table = table.assign(step=table.step.where(table.step != 1000, 500))  # probes at 0, 500, ...
    d = run_diagnosis(table, start=0)
    assert finding(d, "extrapolation").status == "clear"
    assert "first probe after updates began" in d.findings[0].evidence
    loaded = run_diagnosis(table, WarmStart(critic_loaded=True), start=0)
    assert finding(loaded, "extrapolation").fired  # a loaded critic is read at step 0


def test_large_first_updates_from_a_confident_critic_without_a_reference_are_the_gradient() -> None:
    """A BC warm start has no trained critic to compare the slope with."""
    d = run_diagnosis(metrics_table(**LARGE_UPDATE), WarmStart(reference_critic=False))
    assert [f.cause for f in d.causes] == ["gradient"]
    assert d.verdict.endswith("policy drift, caused by steep critic (large action gradients)")
    assert "moved 0.5" in finding(d, "update").evidence


def test_large_first_updates_from_a_critic_as_steep_as_its_reference_are_the_step() -> None:
    """A confident critic no steeper than its reference: the actor's step, not the critic's
    slope. Drift, which reads the return, is named before the update it follows; with
    drift_over_update off, the upstream update is named and drift is its symptom."""
    d = run_diagnosis(metrics_table(**LARGE_UPDATE))
    assert [f.cause for f in d.causes] == ["drift"] and d.symptoms == []
    assert finding(d, "update").fired
    assert [f.cause for f in d.passed_over] == ["update"]
    after = "policy drift, after large first policy updates from a confident critic"
    assert d.verdict.endswith(after)
    assert "the step, not the slope" in finding(d, "gradient").evidence
    upstream = run_diagnosis(metrics_table(**LARGE_UPDATE), drift_over_update=False)
    assert [f.cause for f in upstream.causes] == ["update"]
    assert [f.cause for f in upstream.symptoms] == ["drift"]
    assert upstream.verdict.endswith("policy drift, caused by large first policy updates")
    no_drift = {"action_rms/online": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0]}
    alone = run_diagnosis(metrics_table(**no_drift))
    assert [f.cause for f in alone.causes] == ["update"]
    assert alone.verdict.endswith("large first policy updates from a confident critic")


def test_an_untrained_bc_critic_is_no_gradient_reference() -> None:
    """The ratio to a BC agent's untrained critic is huge for every BC warm start."""
    table = metrics_table(**{"pretrained/grad_norm/behaviour/mean": [0.001] * 7,
                             "q_percentile": [0.5] * 7})  # fmt: skip
    assert finding(run_diagnosis(table), "gradient").status == "clear"  # small updates
    bc = run_diagnosis(table, WarmStart(reference_critic=False))
    assert "pretrained critic" not in finding(bc, "gradient").evidence


def test_a_steeper_critic_than_the_pretrained_one_fires_with_large_updates() -> None:
    table = metrics_table(**{"grad_norm/behaviour/mean": [0.1, 8.0, 4.0, 2.0, 1.0, 1.0, 1.0],
                             "grad_cos/behaviour": [0.2] * 7}, **LARGE_UPDATE)  # fmt: skip
    d = run_diagnosis(table)
    assert finding(d, "gradient").fired and "8x the pretrained critic's 1" in d.findings[1].evidence
    assert d.causes[0].cause == "extrapolation"  # the earlier link is the named cause


def test_drift_without_a_named_upstream_cause_says_so() -> None:
    d = run_diagnosis(metrics_table(**{"action_rms/online": [0.0, 0.0, 0.1, 0.6, 0.3, 0, 0]}))
    assert [f.cause for f in d.causes] == ["drift"]
    assert d.verdict.endswith("policy drift, its cause not identified by the probes")
    assert "corr with the return shortfall 0.88" in d.findings[3].evidence


def test_a_large_deterministic_kl_alone_is_not_drift() -> None:
    """KL = ||delta mu||^2 / (2 sigma^2): a 0.1 shift of a TD3 mean with sigma 0.1 is 0.5 nats."""
    d = run_diagnosis(metrics_table(**{"kl/online": [0.0, 0.0, 3.0, 6.0, 3.0, 0.1, 0.1]}))
    assert finding(d, "drift").status == "clear"
    assert "KL(pi_pre || pi) peak 6" in d.findings[3].evidence


def test_older_runs_without_action_rms_use_the_action_distance() -> None:
    table = metrics_table(**{"action_rms/online": None,
                             "action_mse/online": [0.0, 0.0, 0.01, 0.36, 0.09, 0, 0]})  # fmt: skip
    d = run_diagnosis(table)
    assert finding(d, "drift").fired and "per state" in d.findings[3].evidence


@pytest.mark.parametrize(
    ("probes", "cited"),
    [
        ({"td_error/behaviour": [2.0, 0.5, 2.0, 5.0, 3.0, 1.0, 1.0],
          "td_error/online": [1.0, 0.5, 0.55, 0.6, 0.5, 0.5, 0.5]},
         ["x10", "0.5 -> 5 at step 3000", "online x1.2"]),
        ({"q/behaviour": [-10, -10, -30, -40, -20, -10, -10],
          "q/online": [-10, -10, -11, -10, -10, -10, -10]},
         ["behavioural-set Q level moved 300%", "online 10%"]),
    ],
)  # fmt: skip
def test_spiral_is_a_branch_of_its_own(probes: dict[str, list[float]], cited: list[str]) -> None:
    d = run_diagnosis(metrics_table(**probes))
    assert [f.cause for f in d.causes] == ["spiral"]
    for text in cited:
        assert text in d.causes[0].evidence
    assert d.verdict.endswith("bootstrapping / downward spiral") and d.causes[0].mitigations


def test_a_critic_loaded_without_its_data_is_the_spirals_setting_and_named_first() -> None:
    """No probe signature (flat TD errors and Q levels): the warm start itself fires the spiral,
    named before the chain's large first updates; not with its data, a BC actor or the rule
    off."""
    table = metrics_table(**LARGE_UPDATE)
    bare = WarmStart(critic_loaded=True, data_retained=False)
    d = run_diagnosis(table, bare)
    assert [f.cause for f in d.causes] == ["spiral", "drift"]
    assert "loaded without the data it was trained on" in d.causes[0].evidence
    drift = "policy drift, after large first policy updates from a confident critic"
    assert d.verdict.split("; ")[1:] == ["bootstrapping / downward spiral", drift]
    unread = metrics_table(**LARGE_UPDATE, q_percentile=None)  # the critic links not read
    alone = run_diagnosis(unread, WarmStart(critic_loaded=True), drift_rms=9.0)
    assert alone.verdict.endswith(
        "large first policy updates, its cause not identified by the probes"
    )
    named = run_diagnosis(unread, bare, drift_rms=9.0).verdict  # the spiral is its cause here
    assert named.endswith("bootstrapping / downward spiral; large first policy updates")
    for warm in (
        WarmStart(critic_loaded=True),
        WarmStart(critic_loaded=False, data_retained=False),
        WarmStart(critic_loaded=True, reference_critic=False, data_retained=False),
    ):
        assert not finding(run_diagnosis(table, warm), "spiral").fired
    assert not finding(run_diagnosis(table, bare, spiral_structural=False), "spiral").fired
    assert not run_diagnosis(metrics_table(dip=0.0), bare).causes  # no dip, no verdict


def test_the_warm_start_says_whether_the_critics_data_came_along() -> None:
    online = tiny_config(warmstart={"load": ["actor", "critic"]})
    assert not WarmStart.of(online).data_retained
    assert WarmStart.of(online, ["actor", "critic", "buffer"]).data_retained
    offline = {"source": "offline", "algo": "td3bc", "dataset": "d"}
    kept = tiny_config(pretrain=offline, warmstart={"load": ["actor", "critic"]})
    none = tiny_config(pretrain=offline, warmstart={"load": ["actor", "critic"],
                                                     "offline_data": "none"})  # fmt: skip
    assert WarmStart.of(kept).data_retained and not WarmStart.of(none).data_retained


def test_closeness_reads_the_non_expert_gradients_and_an_absolute_rise() -> None:
    """Random non-expert actions start far from the policy (1.5): no x2 growth is needed."""
    label = {"divergence/non-expert": [1.5, 1.5, 1.8, 2.1, 1.6, 1.5, 1.5]}
    exploding = {"grad_norm/label/non-expert": [1.0, 1.0, 2.0, 4.0, 2.0, 1.0, 1.0]}
    d = run_diagnosis(metrics_table(**label, **exploding))
    assert [f.cause for f in d.causes] == ["closeness"]
    assert "rose by 0.6 from 1.5" in d.causes[0].evidence and "x4" in d.causes[0].evidence
    elsewhere = {"grad_norm/label/non-expert": [1.0] * 7,
                 "grad_norm/behaviour/mean": [1.0, 1.0, 2.0, 4.0, 2.0, 1.0, 1.0]}  # fmt: skip
    d = run_diagnosis(metrics_table(**label, **elsewhere))
    assert finding(d, "closeness").status == "clear"
    assert finding(d, "closeness").evidence.endswith("not met: gradient growth")
    assert "not met" not in run_diagnosis(metrics_table(**label, **exploding)).causes[0].evidence


def test_thresholds_are_configurable() -> None:
    table = metrics_table(**LARGE_UPDATE)
    th = thresholds_from(["diagnose.update_rms=0.9", "diagnose.min_dip_fraction=0.5"])
    assert th.update_rms == 0.9 and th.min_dip_fraction == 0.5
    d = diagnose(table, policy_start=UPDATE, update_start=UPDATE, thresholds=th)
    assert [f.cause for f in d.causes] == ["drift"]  # no longer explained by a large update
    assert "threshold 0.9" in finding(d, "update").evidence
    with pytest.raises(WsdiagError, match=r"unknown setting 'diagnose\.nope'"):
        thresholds_from(["diagnose.nope=1"])
    with pytest.raises(WsdiagError, match="expected a number"):
        thresholds_from(["diagnose.grad_ratio=true"])
    with pytest.raises(WsdiagError, match="only diagnose"):
        thresholds_from(["probes.every=3"])


def test_missing_probes_are_not_applicable() -> None:
    table = metrics_table()
    d = run_diagnosis(table[~table.key.str.startswith("probe/")])
    assert {f.status for f in d.findings} == {"n/a"}
    assert d.degradation is not None and d.degradation.dip == 80.0


def test_the_evidence_window_can_be_fixed_in_advance() -> None:
    """`Evidence(end=...)` ends the window there, whatever the dip's recovery; by default it
    ends at the last probe when there is no dip to recover from."""
    from wsdiag.analysis.evidence import Evidence

    table = metrics_table()
    default = Evidence(table, None, UPDATE, Thresholds())
    fixed = Evidence(table, None, UPDATE, Thresholds(), end=UPDATE + 1000)
    assert default.end == PROBE_STEPS[-1] and fixed.end == UPDATE + 1000
