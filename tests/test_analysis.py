"""wsdiag.analysis: metrics on hand-made curves, statistics, Pareto fronts and every diagnosis rule
on synthetic metric tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import tiny_config
from wsdiag.analysis import (
    Diagnosis,
    Thresholds,
    bootstrap_ci,
    degradation,
    diagnose,
    pareto_front,
    pooled_safety_table,
    safety_table,
    var_cvar,
)
from wsdiag.analysis.degradation import area_below
from wsdiag.analysis.groups import group_runs
from wsdiag.analysis.run import Run
from wsdiag.analysis.safety import min_values
from wsdiag.analysis.thresholds import thresholds_from
from wsdiag.config import replace
from wsdiag.errors import WsdiagError

# ----------------------------------------------------------------------------- degradation

STEPS = np.arange(0, 1100, 100)
#                  0    100  200  300  400  500  600  700  800  900  1000
CURVE = np.array([100, 100, 60.0, 20, 50, 80, 110, 90, 120, 120, 130])


def test_dip_recovery_and_area_by_hand() -> None:
    d = degradation(STEPS, CURVE, 100.0, start=100)
    assert (d.min_return, d.min_step, d.dip) == (20.0, 300, 80.0)
    assert d.dip_fraction == pytest.approx(0.8) and d.dip_reference == "|R0|"
    assert (d.recovery_step, d.time_to_recover) == (600, 500)
    # shortfall 0, 40, 80, 50, 20 at steps 100..500, then a crossing to -10 at 600:
    # trapezoids 100 * (20 + 60 + 65 + 35) = 18000; the crossing 500 -> 600 (shortfall 20 ->
    # -10) adds the triangle 20^2 / (20 + 10) * 100 / 2; the drop to 90 at 700 (shortfall -10
    # -> 10 -> -20) adds 10^2 / 20 * 100 / 2 and 10^2 / 30 * 100 / 2.
    assert d.area_below == pytest.approx(18000 + 2000 / 3 + 250 + 500 / 3)
    assert d.final_return == 130.0
    assert d.mean_return == pytest.approx(CURVE[1:].mean())
    assert d.evaluations == 10


def test_dip_fraction_relative_to_random_return_and_tolerance() -> None:
    d = degradation(STEPS, CURVE, 100.0, start=100, r_random=-60.0)
    assert d.dip_fraction == pytest.approx(80 / 160) and d.dip_reference == "R0 - R_random"
    early = degradation(STEPS, CURVE, 100.0, start=100, tolerance=25.0)
    assert early.recovery_step == 500  # 80 >= 100 - 25


def test_not_recovered_and_no_dip() -> None:
    falling = degradation(STEPS, np.linspace(100, 0, 11), 100.0)
    assert falling.recovery_step is None and falling.time_to_recover is None
    assert not falling.recovered and falling.dip == 100.0
    rising = degradation(STEPS, np.linspace(100, 200, 11), 100.0, start=200)
    assert rising.dip == 0.0 and rising.area_below == 0.0
    assert (rising.recovery_step, rising.time_to_recover) == (200, 0)


def test_area_below_handles_crossings() -> None:
    assert area_below([0, 10], [0, 0], 1.0) == pytest.approx(10.0)
    assert area_below([0, 10], [2, 0], 1.0) == pytest.approx(2.5)  # crosses at t = 5
    assert area_below([0, 10], [2, 3], 1.0) == 0.0


# ----------------------------------------------------------------------------- safety, stats


def test_var_cvar_by_hand() -> None:
    x = np.arange(1.0, 101.0)
    var, cvar = var_cvar(x, 0.95)
    assert var == pytest.approx(1 + 0.05 * 99)  # linear interpolation: 5.95
    assert cvar == pytest.approx(np.mean([1, 2, 3, 4, 5]))
    assert var_cvar(x, 0.999) == (pytest.approx(1.099), 1.0)
    table = safety_table(np.array([10.0, 4.0, 8.0, 2.0]))
    assert list(table.index) == ["returns", "differences"]
    assert table.loc["returns", "min"] == 2.0 and table.loc["returns", "max"] == 10.0
    assert table.loc["differences", "min"] == -6.0  # 10 -> 4 and 8 -> 2
    assert {"VaR95", "CVaR95", "VaR99", "CVaR99", "VaR99.9", "CVaR99.9"} <= set(table.columns)


def test_a_tail_level_needs_enough_values() -> None:
    """VaR/CVaR at level c only from ceil(1/(1-c)) values on: 16 evaluations have no 99.9%
    column that would be the minimum again, nor a 95% one (20 needed)."""
    assert [min_values(c) for c in (0.95, 0.99, 0.999)] == [20, 100, 1000]
    x = np.linspace(-300.0, -100.0, 16)
    table = safety_table(x)
    assert table.loc["returns", "n"] == 16 and table.loc["differences", "n"] == 15
    assert table.loc[:, ["VaR95", "CVaR95", "VaR99.9", "CVaR99.9"]].isna().all().all()
    assert table.loc["returns", "min"] == -300.0  # the minimum is still reported
    y = np.arange(1.0, 21.0)  # 20 values: the 95% level appears, 99% not yet
    table = safety_table(y)
    var, cvar = var_cvar(y, 0.95)
    assert table.loc["returns", "VaR95"] == var and table.loc["returns", "CVaR95"] == cvar
    assert np.isnan(table.loc["returns", "VaR99"]) and np.isnan(table.loc["differences", "VaR95"])
    pooled = pooled_safety_table([y[:10], y[10:]])  # 20 returns pooled, 18 differences
    assert np.isfinite(pooled.loc["returns", "VaR95"])
    assert np.isnan(pooled.loc["differences", "VaR95"])


def test_pooled_safety_never_takes_a_difference_across_seeds() -> None:
    a, b = np.array([0.0, -5.0, 10.0]), np.array([100.0, 90.0])
    table = pooled_safety_table([a, b])
    assert table.loc["returns", "min"] == -5.0 and table.loc["returns", "max"] == 100.0
    # within-seed differences only: -5, 15, -10 (not 100 - 10 = 90 across the seam)
    assert table.loc["differences", "max"] == 15.0 and table.loc["differences", "min"] == -10.0
    assert table.loc["differences", "mean"] == pytest.approx(0.0)
    pd.testing.assert_frame_equal(pooled_safety_table([a]), safety_table(a))


def test_bootstrap_ci_covers_the_mean_and_narrows() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.normal(5, 2, 8), rng.normal(5, 2, 200)
    ci_small, ci_large = bootstrap_ci(small), bootstrap_ci(large)
    assert ci_small.low < small.mean() < ci_small.high
    assert ci_large.low < 5.0 < ci_large.high
    assert ci_large.high - ci_large.low < ci_small.high - ci_small.low
    single = bootstrap_ci([3.0])
    assert single.mean == 3.0 and np.isnan(single.low) and single.n == 1
    assert bootstrap_ci([2.0, 2.0, 2.0]).low == 2.0


def test_pareto_front_by_hand() -> None:
    dip = np.array([1.0, 2.0, 3.0, 2.0, 1.0, np.nan])
    ret = np.array([5.0, 9.0, 8.0, 4.0, 5.0, 99.0])
    # (1, 5) twice: equal points do not dominate each other; (3, 8) is worse than (2, 9);
    # (2, 4) is worse than (1, 5); NaN is never on the front.
    assert pareto_front(dip, ret).tolist() == [True, True, False, False, True, False]


# ----------------------------------------------------------------------------- diagnosis

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


NEUTRAL = {
    "q_percentile": [0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
    "pretrained/q_percentile": [0.95] * 7,
    "grad_norm/behaviour/mean": [1.0] * 7,
    "pretrained/grad_norm/behaviour/mean": [1.0] * 7,
    "td_error/behaviour": [1.0] * 7,
    "td_error/online": [1.0] * 7,
    "q/behaviour": [-10.0] * 7,
    "q/online": [-10.0] * 7,
    "kl/online": [0.01] * 7,
    "divergence/behaviour": [0.1] * 7,
}


def _rows(key: str, steps: list[int], values: list[float]) -> list[tuple[int, str, str, float]]:
    phases = ["warmup" if t <= UPDATE else "finetune" for t in steps]
    return list(zip(steps, phases, [key] * len(steps), values, strict=True))


def metrics_table(dip: float = 80.0, **probes: list[float]) -> pd.DataFrame:
    """A long-form metrics table: evaluations with the given dip and probe series."""
    rows = [(0, "warmup", "eval/baseline_return", 100.0)]
    rows += _rows("eval/return", EVAL_STEPS, _returns(dip))
    for name, values in {**NEUTRAL, **probes}.items():
        rows += _rows(f"probe/{name}", PROBE_STEPS, values)
    return pd.DataFrame(rows, columns=["step", "phase", "key", "value"])


def run_diagnosis(table: pd.DataFrame, **thresholds: float) -> Diagnosis:
    th = Thresholds(**thresholds)
    return diagnose(table, policy_start=UPDATE, update_start=UPDATE, thresholds=th)


def test_neutral_probes_name_no_cause() -> None:
    d = run_diagnosis(metrics_table())
    assert d.significant and d.causes == []
    assert "without a cause the probes can name" in d.verdict
    assert "dip 80" in d.verdict and "80.0% of |R0|" in d.verdict


def test_no_significant_degradation() -> None:
    d = run_diagnosis(metrics_table(dip=5.0, q_percentile=[0.5] * 7))
    assert not d.significant and d.causes == []
    assert d.verdict.startswith("no significant degradation")
    assert "5.0% of |R0|" in d.verdict
    assert "below 10%" in d.verdict
    # the rule itself still reports what it saw
    assert next(f for f in d.findings if f.cause == "extrapolation").fired


@pytest.mark.parametrize(
    ("cause", "probes", "cited"),
    [
        ("extrapolation", {"q_percentile": [0.5, 0.52, 0.6, 0.7, 0.8, 0.9, 0.9]},
         ["0.52", "step 1000", "0.95"]),
        ("gradient", {"grad_norm/behaviour/mean": [0.1, 1.2, 8.0, 4.0, 2.0, 1.0, 1.0]},
         ["8 at step 2000", "8x", "threshold 3x"]),
        ("spiral", {"td_error/behaviour": [2.0, 0.5, 2.0, 5.0, 3.0, 1.0, 1.0],
                    "td_error/online": [1.0, 0.5, 0.55, 0.6, 0.5, 0.5, 0.5]},
         ["x10", "0.5 -> 5 at step 3000", "online x1.2"]),
        ("spiral", {"q/behaviour": [-10, -10, -30, -40, -20, -10, -10],
                    "q/online": [-10, -10, -11, -10, -10, -10, -10]},
         ["behavioural-set Q level moved 300%", "online 10%"]),
        ("forgetting", {"kl/online": [0.0, 0.0, 3.0, 6.0, 3.0, 0.1, 0.1]},
         ["corr 0.98 over 5 probes", "peak KL 6 nats at step 3000"]),
        ("closeness", {"divergence/non-expert": [0.1, 0.1, 0.3, 0.5, 0.2, 0.1, 0.1],
                       "grad_norm/behaviour/mean": [1.0, 1.0, 2.0, 4.0, 2.0, 1.0, 1.0],
                       "pretrained/grad_norm/behaviour/mean": [10.0] * 7},
         ["non-expert actions x5", "0.1 -> 0.5 at step 3000", "||dQ/da|| x4"]),
    ],
)  # fmt: skip
def test_each_rule_names_its_cause_with_numbers(
    cause: str, probes: dict[str, list[float]], cited: list[str]
) -> None:
    d = run_diagnosis(metrics_table(**probes))
    assert [f.cause for f in d.causes] == [cause], [f.evidence for f in d.findings]
    finding = d.causes[0]
    for text in cited:
        assert text in finding.evidence, finding.evidence
    assert finding.numbers and finding.mitigations
    assert finding.title in d.verdict


def test_thresholds_are_configurable() -> None:
    table = metrics_table(**{"grad_norm/behaviour/mean": [0.1, 1.2, 8.0, 4.0, 2.0, 1.0, 1.0]})
    th = thresholds_from(["diagnose.grad_ratio=10", "diagnose.min_dip_fraction=0.5"])
    assert th.grad_ratio == 10.0 and th.min_dip_fraction == 0.5
    d = diagnose(table, policy_start=UPDATE, update_start=UPDATE, thresholds=th)
    assert d.causes == [] and "threshold 10x" in d.findings[1].evidence
    with pytest.raises(WsdiagError, match=r"unknown setting 'diagnose\.nope'"):
        thresholds_from(["diagnose.nope=1"])
    with pytest.raises(WsdiagError, match="expected a number"):
        thresholds_from(["diagnose.grad_ratio=true"])
    with pytest.raises(WsdiagError, match="only diagnose"):
        thresholds_from(["probes.every=3"])


def test_missing_probes_are_not_applicable() -> None:
    table = metrics_table()
    table = table[~table.key.str.startswith("probe/")]
    d = run_diagnosis(table)
    assert {f.status for f in d.findings} == {"n/a"}
    assert d.degradation is not None and d.degradation.dip == 80.0


# ----------------------------------------------------------------------------- groups, labels


def _run(name: str, **sections: dict) -> Run:
    config = replace(tiny_config(name=name), **sections)
    empty = pd.DataFrame(columns=["step", "phase", "key", "value"])
    return Run(path=Path(name), name=name, config=config, metrics=empty, events=[])


def test_runs_grouped_by_config_and_labelled_by_what_differs() -> None:
    a0, a1 = _run("ws"), _run("ws", seed=4)
    b = _run("ws", warmstart={"warmup_steps": 50, "load": ("actor", "critic")})
    groups = group_runs([a0, b, a1])
    assert [len(g.runs) for g in groups] == [2, 1]
    assert groups[0].label == "ws: load=actor, warmup_steps=100"
    assert groups[1].label == "ws: load=actor+critic, warmup_steps=50"
    # configs that differ outside [warmstart] fall back to the keys that differ anywhere
    c = _run("ws", finetune={"actor_lr": 1e-4})
    assert group_runs([a0, c])[1].label == "ws: finetune.actor_lr=0.0001"


def test_runs_written_with_offline_probe_keys_read_as_behaviour(tmp_path: Path) -> None:
    from wsdiag.analysis.run import load_run
    from wsdiag.config import dump_config

    (tmp_path / "config.toml").write_text(dump_config(tiny_config()))
    rows = [(0, "warmup", "probe/td_error/offline", 1.0), (0, "warmup", "probe/kl/online", 2.0)]
    pd.DataFrame(rows, columns=["step", "phase", "key", "value"]).to_parquet(
        tmp_path / "metrics.parquet"
    )
    run = load_run(tmp_path)
    assert run.has("probe/td_error/behaviour") and run.has("probe/kl/online")
    assert not run.has("probe/td_error/offline")
