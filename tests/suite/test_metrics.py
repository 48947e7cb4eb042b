"""The benchmark's metrics (wsdiag.suite.metrics) against hand-computed cases: the confusion
matrix with an inconclusive truth, kappa on a textbook table and the majority baseline's 0, the
bootstrap interval, recall and precision as k/n, AUROC with ties, the start of the drop and the
warning's lead per critic stratum, and the verdict's gain and regret as a recommendation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wsdiag.suite.metrics import (
    LABELS,
    Ratio,
    accuracy,
    auroc,
    confusion,
    drop_start,
    gain,
    kappa,
    kappa_interval,
    lead,
    majority,
    majority_kappa,
    mean_interval,
    recall_precision,
    recommendations,
    regret,
    stratum,
    verdict_metrics,
    warning_metrics,
    warning_strata,
)
from wsdiag.suite.record import SuiteRecord


def record(run: str, verdict: str, truth: str, **fields) -> SuiteRecord:
    significant = fields.pop("significant", True)
    base = {"confirmed": truth if truth not in ("none", "inconclusive") else "none",
            "dip": 100.0 if significant else 0.0, "min_step": 1000, "warning": None}  # fmt: skip
    return SuiteRecord(run, significant, verdict, truth=truth, **(base | fields))


def test_the_labels_are_the_causes_in_priority_order_then_none_and_inconclusive() -> None:
    assert LABELS == ("extrapolation", "gradient", "spiral", "closeness", "update", "drift",
                      "none", "inconclusive")  # fmt: skip


def test_an_inconclusive_truth_counts_against_the_verdict() -> None:
    """Four runs: one agreement, a 'none' truth called a cause, an inconclusive truth (which no
    verdict can equal), a spiral called large updates."""
    verdicts = ["extrapolation", "extrapolation", "extrapolation", "update"]
    truths = ["extrapolation", "none", "inconclusive", "spiral"]
    c = confusion(verdicts, truths)
    x, s, u, n, i = (LABELS.index(k) for k in ("extrapolation", "spiral", "update", "none",
                                               "inconclusive"))  # fmt: skip
    assert c[x, x] == 1 and c[x, n] == 1 and c[x, i] == 1 and c[u, s] == 1 and c.sum() == 4
    assert c[LABELS.index("inconclusive")].sum() == 0  # no verdict is inconclusive
    assert accuracy(c) == 0.25
    with pytest.raises(ValueError, match="unknown label 'bogus'"):
        confusion(["bogus"], ["none"])


def test_kappa_on_the_textbook_two_by_two_table() -> None:
    """Two raters of 50 items (Yes/Yes 20, Yes/No 5, No/Yes 10, No/No 15): p_o = 35/50 = 0.7,
    p_e = (25/50)(30/50) + (25/50)(20/50) = 0.5, kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4."""
    table = np.array([[20, 5], [10, 15]])
    assert accuracy(table) == pytest.approx(0.7)
    assert kappa(table) == pytest.approx(0.4)
    verdicts = ["yes"] * 25 + ["no"] * 25
    truths = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert (confusion(verdicts, truths, ("yes", "no")) == table).all()
    assert kappa(np.diag([3, 4])) == 1.0
    assert math.isnan(kappa(np.array([[5, 0], [0, 0]])))  # p_e = 1: undefined


def test_the_majority_baseline_has_kappa_zero_by_construction() -> None:
    """Always naming the commonest truth: p_o = m/n = p_e, whatever the other truths."""
    truths = ["extrapolation"] * 26 + ["spiral"] * 2 + ["none"] * 5 + ["inconclusive"] * 3
    assert majority(truths) == "extrapolation"
    assert majority_kappa(truths) == pytest.approx(0.0, abs=1e-12)
    assert accuracy(confusion(["extrapolation"] * 36, truths)) == pytest.approx(26 / 36)
    assert majority(["none", "spiral"]) == "spiral"  # equals: the first in label order
    assert math.isnan(majority_kappa(["none"] * 4))  # one truth throughout: undefined


def test_kappas_interval_is_a_seeded_bootstrap_of_runs_or_of_whole_groups() -> None:
    verdicts = ["yes"] * 25 + ["no"] * 25
    truths = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    runs = kappa_interval(verdicts, truths, labels=("yes", "no"), n_resamples=500)
    assert runs.value == pytest.approx(0.4) and runs.low < 0.4 < runs.high
    assert runs == kappa_interval(verdicts, truths, labels=("yes", "no"), n_resamples=500)
    assert str(runs).startswith("0.40 [")
    # two groups, one all agreement, one all disagreement: a resample holds the first twice
    # (kappa 1), the second twice (kappa -1) or both (kappa 0)
    halves = kappa_interval(["a", "b", "a", "b"], ["a", "b", "b", "a"], groups=[0, 0, 1, 1],
                            labels=("a", "b"), n_resamples=200)  # fmt: skip
    assert halves.value == pytest.approx(0.0) and halves.low == pytest.approx(-1.0)
    assert halves.high == pytest.approx(1.0)
    one = kappa_interval(["a", "b"], ["a", "b"], groups=["s", "s"], labels=("a", "b"))
    assert one.value == 1.0 and math.isnan(one.low) and math.isnan(one.high)


def test_recall_and_precision_are_counts() -> None:
    c = confusion(["extrapolation", "extrapolation", "update", "none"],
                  ["extrapolation", "none", "spiral", "none"])  # fmt: skip
    rp = recall_precision(c)
    assert rp["extrapolation"] == (Ratio(1, 1), Ratio(1, 2))
    assert rp["spiral"] == (Ratio(0, 1), Ratio(0, 0))
    assert rp["none"] == (Ratio(1, 2), Ratio(1, 1))
    assert str(Ratio(1, 2)) == "1/2 (50%)" and str(Ratio(0, 0)) == "0/0"


def test_auroc_counts_ties_half() -> None:
    """Positives 0.8, 0.5; negatives 0.5, 0.2: pairs 1 + 1 + 1/2 + 1 = 3.5 of 4."""
    assert auroc([0.8, 0.5, 0.5, 0.2], [True, True, False, False]) == 0.875
    assert auroc([0.2, 0.8], [True, False]) == 0.0
    # a yes/no warning: its AUROC is (TPR + TNR) / 2 = (2/3 + 1/2) / 2 = 7/12
    assert auroc([1, 1, 0, 1, 0], [True, True, True, False, False]) == pytest.approx(7 / 12)
    assert math.isnan(auroc([1, 0], [True, True]))


def test_the_drop_starts_below_a_tenth_of_the_dip() -> None:
    """R0 = 100, R_min = 0 after the policy start at 100: the drop starts at the first
    evaluation below 90 (step 300); the step-0 evaluation is before the window."""
    steps, returns = [0, 100, 200, 300, 400, 500], [50, 98, 95, 80, 0, 60]
    assert drop_start(steps, returns, 100.0, start=100) == 300
    assert drop_start(steps, returns, 100.0, start=0) == 0  # 50 < 90 at step 0
    assert drop_start([0, 100], [100, 120], 100.0) is None  # never below R0
    assert lead(100, 300) == 200 and lead(400, 300) == -100
    assert lead(None, 300) is None and lead(100, None) is None


def test_the_verdict_metrics_over_records_leave_out_the_unconfirmed() -> None:
    items = [record("p/a-seed0", "extrapolation", "extrapolation"),
             record("p/a-seed1", "extrapolation", "inconclusive"),
             record("p/b-seed0", "update", "?", confirmed="?"),
             record("p/c-seed0", "none", "none", significant=False),
             record("p/c-seed1", "drift", "none", significant=False)]  # fmt: skip
    m = verdict_metrics(items)
    assert (m.n, m.unconfirmed) == (4, 1)
    assert m.accuracy == Ratio(2, 4) and m.called == Ratio(1, 2)
    assert m.per_cause["extrapolation"] == (Ratio(1, 1), Ratio(1, 2))
    assert m.majority == "none" and m.majority_kappa == pytest.approx(0.0)
    # p_o = 2/4; verdicts extrapolation 2, none 1, drift 1 against truths extrapolation 1,
    # none 2, inconclusive 1: p_e = (2 * 1 + 1 * 2) / 16 = 1/4, kappa = (1/2 - 1/4) / (3/4)
    assert m.kappa.value == pytest.approx(1 / 3)


def test_the_warning_is_scored_in_each_critic_stratum() -> None:
    curve = {"eval_steps": (0, 100, 200, 300, 400), "eval_returns": (100.0, 95, 85, 0, 50),
             "baseline": 100.0, "policy_start": 100}  # fmt: skip
    items = [
        # loaded: a degrading run warned 100 steps before its drop (step 200), one not warned,
        # a false alarm and a quiet non-degrading run
        record("p/a-seed0", "extrapolation", "extrapolation", warning=100, critic_loaded=True,
               **curve),
        record("p/a-seed1", "extrapolation", "extrapolation", critic_loaded=True, **curve),
        record("p/b-seed0", "none", "none", significant=False, warning=500, critic_loaded=True),
        record("p/b-seed1", "none", "none", significant=False, critic_loaded=True),
        # fresh: warned after its drop began; an old record without the stratum or a curve
        record("p/c-seed0", "extrapolation", "extrapolation", warning=300, critic_loaded=False,
               **curve),
        record("p/d-seed0", "extrapolation", "extrapolation", warning=300),
    ]  # fmt: skip
    assert [stratum(r) for r in items] == ["loaded"] * 4 + ["fresh", "not recorded"]
    loaded, fresh, old, every = warning_strata(items)
    assert (loaded.stratum, loaded.degrading, loaded.others) == ("loaded", 2, 2)
    assert loaded.auroc == pytest.approx(0.5)  # TPR 1/2, TNR 1/2
    assert loaded.false_alarms == Ratio(1, 2)
    assert loaded.leads == [100] and loaded.before_drop == Ratio(1, 2)
    assert fresh.leads == [-100] and fresh.before_drop == Ratio(0, 1) and math.isnan(fresh.auroc)
    assert old.stratum == "not recorded" and old.leads == [] and old.median_lead is None
    assert every.stratum == "all" and every.leads == [-100, 100] and every.median_lead == 0.0
    assert every == warning_metrics(items)


def test_the_no_op_controls_false_confirmations_with_their_exact_interval() -> None:
    """Clopper-Pearson by hand: 0 of 40 -> [0, 1 - 0.025^(1/40)] = [0, 0.0881]; 1 of 10 ->
    [0.00253, 0.445] (published tables)."""
    from wsdiag.suite.metrics import clopper_pearson, control_rate

    low, high = clopper_pearson(0, 40)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 40), rel=1e-9)
    assert clopper_pearson(1, 10) == pytest.approx((0.00253, 0.44502), abs=1e-5)
    assert clopper_pearson(10, 10)[1] == 1.0
    rows = [record(f"p/r-seed{k}", "extrapolation", "extrapolation", control=c)
            for k, c in enumerate(("confirmed", "refuted", "inconclusive", None))]  # fmt: skip
    found, rate = control_rate(rows)
    assert (found.k, found.n) == (1, 3) and rate.value == pytest.approx(1 / 3)


def test_a_recommendation_gains_its_share_and_regrets_the_best_or_doing_nothing() -> None:
    shares = {"extrapolation": 0.6, "update": -0.4, "spiral": None}
    assert gain(shares, "extrapolation") == 0.6 and gain(shares, "update") == -0.4
    assert gain(shares, "spiral") == 0.0 and gain(shares, "none") == 0.0  # nothing done
    assert regret(shares, "extrapolation") == 0.0
    assert regret(shares, "update") == pytest.approx(1.0) and regret(shares, "none") == 0.6
    worse = {"update": -0.4, "drift": -0.1}
    assert regret(worse, "none") == 0.0 and regret(worse, "drift") == pytest.approx(0.1)


def test_the_mean_interval_is_a_seeded_bootstrap() -> None:
    e = mean_interval([0.0, 1.0, 2.0, 3.0])
    assert e.value == 1.5 and 0.0 <= e.low < 1.5 < e.high <= 3.0
    assert e == mean_interval([0.0, 1.0, 2.0, 3.0])
    assert math.isnan(mean_interval([1.0]).low) and mean_interval([1.0]).value == 1.0


def test_the_verdict_is_set_beside_every_fixed_recommendation_on_confirmed_runs() -> None:
    a = record("p/a-seed0", "extrapolation", "extrapolation",
               shares={"extrapolation": 0.8, "update": 0.2})  # fmt: skip
    b = record("p/b-seed0", "update", "none", shares={"extrapolation": 0.1, "update": 0.5})
    c = record("p/c-seed0", "none", "spiral", shares={"extrapolation": 0.0, "update": -0.2})
    others = [record("p/a-seed1", "update", "extrapolation", truth_from="a-seed0",
                     shares={"extrapolation": 0.8, "update": 0.2}),  # its scenario's shares
              record("p/d-seed0", "none", "none", significant=False)]  # fmt: skip
    rows = {r.name: r for r in recommendations([a, b, c, *others])}
    assert list(rows) == ["verdict", "extrapolation", "update"]
    assert rows["verdict"].gain.value == pytest.approx((0.8 + 0.5 + 0.0) / 3)
    assert rows["verdict"].regret.value == pytest.approx(0.0)  # the best on every run
    assert rows["extrapolation"].gain.value == pytest.approx(0.3)
    assert rows["extrapolation"].regret.value == pytest.approx((0.0 + 0.4 + 0.0) / 3)
    assert rows["update"].verdict_minus.value == pytest.approx((0.6 + 0.0 + 0.2) / 3)
    assert rows["verdict"].verdict_minus is None
    assert recommendations(others) == []
