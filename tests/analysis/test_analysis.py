"""wsdiag.analysis: metrics on hand-made curves, statistics, Pareto fronts, run groups (the
diagnosis rules are in test_diagnosis.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import tiny_config
from wsdiag.analysis import (
    bootstrap_ci,
    degradation,
    pareto_front,
    pooled_safety_table,
    safety_table,
    var_cvar,
)
from wsdiag.analysis.degradation import area_below
from wsdiag.analysis.diagnose import diagnose
from wsdiag.analysis.groups import group_runs
from wsdiag.analysis.run import Run
from wsdiag.analysis.safety import min_values
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


@pytest.mark.parametrize(("r0", "r_random"), [(-996.0, -1091.0), (100.0, 95.0), (-10.0, 0.0)])
def test_a_dip_has_no_share_of_a_near_random_baseline(r0: float, r_random: float) -> None:
    """R0 - R_random under 10% of max(|R0|, |R_random|): a share of it would be noise (a weak
    SB3 model: 418 / 95 = 440%); the dip stays raw and the verdict says why it is not judged."""
    curve = np.array([r0, r0 - 418.0, r0])
    d = degradation(np.array([0, 100, 200]), curve, r0, r_random=r_random)
    assert d.dip == 418.0 and d.dip_fraction is None
    assert d.dip_reference == "none: R0 is near R_random"
    table = pd.DataFrame(
        [(s, "finetune", "eval/return", v) for s, v in zip((0, 100, 200), curve, strict=True)]
        + [(0, "warmup", "eval/baseline_return", r0)],
        columns=["step", "phase", "key", "value"],
    )
    diagnosis = diagnose(table, policy_start=0, update_start=0, r_random=r_random)
    assert not diagnosis.significant and diagnosis.verdict.startswith("not judged: dip 418")
    well_above = degradation(np.array([0, 100, 200]), curve, r0, r_random=r0 - 1000.0)
    assert well_above.dip_fraction == pytest.approx(0.418)


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


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("extrapolation", "extrapolation"),
        ("critic extrapolation", "extrapolation"),
        ("critic_extrapolation", "extrapolation"),
        ("Steep-Critic", "gradient"),
        ("steep critic (large action gradients)", "gradient"),
        ("bootstrapping / downward spiral", "spiral"),
    ],
)
def test_a_cause_is_named_by_its_key_or_as_printed(name: str, key: str) -> None:
    from wsdiag.analysis.rules import cause_named

    assert cause_named(name) == key


def test_an_unknown_cause_lists_keys_and_titles() -> None:
    from wsdiag.analysis.rules import cause_named

    with pytest.raises(WsdiagError, match=r"known: extrapolation \(critic extrapolation\)"):
        cause_named("luck")


def test_the_reference_group_is_plain_by_name_else_the_first_without_a_mitigation() -> None:
    from wsdiag.analysis.group_stats import reference_index
    from wsdiag.analysis.groups import Group

    def group(label: str, mitigation: str = "none") -> Group:
        return Group(key=(("mitigation.name", mitigation),), runs=[], label=label)

    groups = [group("actor-critic"), group("ccl", "ccl_pqd"), group("plain")]
    assert reference_index(groups) == 2
    assert reference_index(groups[:2]) == 0
    assert reference_index([group("ccl", "ccl_pqd"), group("loaded")]) == 1
    assert reference_index(groups, "ccl") == 1
    with pytest.raises(WsdiagError, match="--reference 'nope' is not a group"):
        reference_index(groups, "nope")
