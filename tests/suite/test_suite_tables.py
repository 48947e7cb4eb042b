"""The suite's tables (wsdiag.suite.tables, scenarios, targets): verdicts against the ground
truth, the warning's timeliness and false alarms, shares pooled per scenario, and the targets
per part."""

from __future__ import annotations

import pytest

from wsdiag.suite.record import SuiteRecord
from wsdiag.suite.scenarios import scenario, scenarios
from wsdiag.suite.tables import part_summary, scenario_tables, tables
from wsdiag.suite.targets import count, targets_table


def test_the_suite_tables_count_verdicts_warnings_and_false_alarms() -> None:
    def item(run, significant, verdict, confirmed, warning, min_step, named=None) -> SuiteRecord:
        return SuiteRecord(run, significant, verdict, confirmed, 100.0 if significant else 0.0,
                           min_step, warning, named=named)  # fmt: skip

    items = [
        item("a", True, "extrapolation", "extrapolation", 1100, 2000),
        item("b", True, "gradient", "spiral", 2000, 2000, ("gradient", "spiral")),  # not in time
        item("c", True, "extrapolation", "none", None, 1500),
        item("f", True, "gradient", "?", 1100, 2000),  # not confirmed yet: no ground truth
        item("d", False, "none", "none", 1100, 1000),  # a false alarm
        item("e", False, "none", "none", None, 1000),
    ]
    text = tables(items)
    first = ("runs: 6, significantly degrading: 4 (with a ground truth: 3); verdict = truth in "
             "1/3 (the truth named among its causes: 2)")  # fmt: skip
    assert text.splitlines()[0] == first
    assert "non-degrading runs: 2, called degrading: 0" in text
    warned = "early warning before the lowest return: 2/4, median lead 900 steps; false alarms 1/2"
    assert warned in text
    assert part_summary(items) == f"{first}; non-degrading runs: 2, called degrading: 0; {warned}"
    assert "| verdict \\ truth | extrapolation | spiral | none | inconclusive |" in text
    assert "| extrapolation | 1 | 0 | 1 | 0 |" in text
    assert "| gradient | 0 | 1 | 0 | 0 |" in text


def test_the_run_table_shows_each_share_with_its_interval() -> None:
    a = SuiteRecord("p/a-seed0", True, "extrapolation", "extrapolation", 933.4, 1500, 100,
                    shares={"extrapolation": 0.68, "drift": 0.07, "spiral": None},
                    intervals={"extrapolation": (0.38, 0.94)}, seeds=3)  # fmt: skip
    b = SuiteRecord("p/b-seed0", False, "none", "none", 0.0, 900, None, named=())
    text = tables([a, b])
    assert "| run | degrading | dip | verdict | truth | extrapolation | spiral | drift |" in text
    row = "| p/a-seed0 | yes | 933 | extrapolation | extrapolation | 68% [38, 94] |  | 7% | 100 |"
    assert row in text
    assert "| p/b-seed0 | no | 0 | none | none |  |  |  | None | 900 |" in text


def test_the_scenario_tables_pool_each_cause_over_the_degrading_seeds() -> None:
    """s = 1 - mean D'/mean D over a scenario's degrading seeds, D' from the recorded dips (or
    D (1 - share) in records without them); the earliest cause it confirms is the truth of each
    of the scenario's runs."""

    def item(run, verdict, dip, shares, dips=None, significant=True) -> SuiteRecord:
        return SuiteRecord(run, significant, verdict, "none", dip, 1000, None, shares=shares,
                           dips=dips or {})  # fmt: skip

    items = [
        item("p/a-seed0", "extrapolation", 100.0, {"extrapolation": 1.0, "drift": 0.8}),
        item("p/a-seed1", "drift", 300.0, {"extrapolation": 0.0, "drift": 0.5},
             dips={"extrapolation": 300.0, "drift": 30.0}),  # the dips win over the shares
        item("p/a-seed2", "none", 5.0, {}, significant=False),  # not degrading: not pooled
        item("p/b-seed0", "update", 50.0, {"update": 0.2}),
    ]  # fmt: skip
    assert scenario("p/a-seed12") == "p/a"
    groups = {g.name: g for g in scenarios(items)}
    assert set(groups) == {"p/a", "p/b"} and len(groups["p/a"].runs) == 2
    a = groups["p/a"].shares
    assert a["extrapolation"].share == pytest.approx(1 - 150 / 200)  # D' = 0, 300
    assert a["drift"].share == pytest.approx(1 - 25 / 200) and a["drift"].n == 2  # D' = 20, 30
    assert a["drift"].low > 0
    assert groups["p/a"].confirmed == "drift"
    assert groups["p/b"].confirmed == "inconclusive"  # one seed: 20% cannot refute
    text = scenario_tables(items)
    assert "verdict = the scenario's confirmed cause in 1/3" in text
    assert "| p/a | 2 | extrapolation, drift | 25% [0, 100] |  | 88% [" in text


def test_the_targets_are_counted_per_part_and_over_all() -> None:
    """Agreement over confirmed causes, decided truths and every degrading run; the verdict's
    own outcome; false calls, in-time warnings, false alarms and the median lead, per part."""

    def row(run, verdict, shares, intervals, warning, significant=True, confirmed="none"):
        return SuiteRecord(run, significant, verdict, confirmed, 500.0, 1000, warning,
                           shares=shares, intervals=intervals, seeds=3)  # fmt: skip

    rows = [
        row("a/x-seed0", "extrapolation", {"extrapolation": 0.9}, {"extrapolation": (0.7, 1.0)},
            300, confirmed="extrapolation"),
        row("a/x-seed1", "extrapolation", {"extrapolation": 0.2}, {"extrapolation": (0.1, 0.3)},
            1200),
        row("a/y-seed0", "none", {}, {}, 100, significant=False),
        row("b/x-seed0", "update", {"spiral": 0.8}, {"spiral": (0.6, 0.9)}, 500,
            confirmed="spiral"),
        row("b/y-seed0", "none", {}, {}, None, significant=False),
    ]  # fmt: skip
    every = count(rows)
    assert (every.degrading, every.agree, every.caused, every.agree_caused) == (3, 1, 2, 1)
    assert (every.decided, every.agree_decided) == (3, 1)
    assert every.own == {"confirmed": 1, "refuted": 1, "not tested": 1}
    assert (every.others, every.called, every.in_time, every.alarms) == (2, 0, 2, 1)
    assert every.leads == [500, 700] and every.median_lead == 700
    text = targets_table(rows)
    assert "| | a | b | all | target |" in text
    lines = text.splitlines()
    agreement = "| verdict = the run's confirmed cause, where one is |"
    assert next(x for x in lines if x.startswith(agreement)).endswith(
        "| 1 / 1 | 0 / 1 | **1 / 2 (50%)** | >= 80% |"
    )
    assert "| false alarms | 1 / 1 | 0 / 1 | **1 / 2 (50%)** | <= 20% |" in text
    own = "| the verdict's own intervention: confirmed / refuted / inconclusive / not tested |"
    assert next(x for x in lines if x.startswith(own)).endswith(
        "| 1 / 1 / 0 / 0 | 0 / 0 / 0 / 1 | 1 / 1 / 0 / 1 |  |"
    )
