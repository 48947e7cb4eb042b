"""A cause tested at several strengths: each strength's sign test at alpha / m (Bonferroni),
the cause's outcome combined from its strengths', and confirmations saved before strengths
still read and judged the same."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from wsdiag.analysis.confirm import (
    CONFIRMATION_FILE,
    Confirmation,
    Intervention,
    combined,
    decide,
    load_confirmation,
    share_removed,
    strength_variant,
)
from wsdiag.analysis.sign_test import ALPHA, binom_tail, look_level, sequence_error


def _item(cause: str, after: list[float], k: int = 1, m: int = 1) -> Intervention:
    """Cause's k-th of m strengths, its dips `after` against originals of 100."""
    original = [100.0] * len(after)
    share = share_removed(np.array(original), np.array(after))
    return Intervention(cause, f"{cause} fix {k}", {}, list(range(len(after))), original, after,
                        share, variant=strength_variant(cause, k), alpha=ALPHA / m)  # fmt: skip


def test_two_strengths_need_6_of_6_where_one_needs_5_of_5() -> None:
    """Seeds 5 to 10: at 5% the per-look level is 1/32 (5 of 5 decide, P = 1/32); at 2.5% the
    largest level whose sequence error fits is 1/64, below 5 of 5's 1/32, so the first decision
    is 6 of 6 (P = 1/64). The sequence errors, computed exactly: 4.1% and 2.1%."""
    assert binom_tail(5, 5) == 1 / 32 and binom_tail(6, 6) == 1 / 64
    assert look_level(5, 10, ALPHA) == 1 / 32
    assert look_level(5, 10, ALPHA / 2) == 1 / 64
    assert sequence_error(5, 10, 1 / 32) == pytest.approx(0.0410, abs=1e-4)  # > 2.5%
    assert sequence_error(5, 10, 1 / 64) == pytest.approx(0.0215, abs=1e-4)  # <= 2.5%
    fixed = [10.0] * 6  # every seed removes 90% of the dip
    assert decide([100.0] * 5, fixed[:5], 0.5, 5, 10)[0] == "confirmed"
    assert decide([100.0] * 5, fixed[:5], 0.5, 5, 10, ALPHA / 2)[0] == "inconclusive"
    assert decide([100.0] * 6, fixed, 0.5, 5, 10, ALPHA / 2)[0] == "confirmed"
    kept = [90.0] * 6  # and refuting takes as many seeds
    assert decide([100.0] * 5, kept[:5], 0.5, 5, 10, ALPHA / 2)[0] == "inconclusive"
    assert decide([100.0] * 6, kept, 0.5, 5, 10, ALPHA / 2)[0] == "refuted"
    assert str(_item("drift", fixed, 2, m=2).test(0.5)) == (
        "6 of 6 seeds removed >= 50% (sign test p = 0.016, level 0.016)"
    )


def test_a_cause_is_confirmed_by_any_strength_refuted_by_every_one() -> None:
    assert combined(["refuted", "confirmed"]) == "confirmed"
    assert combined(["inconclusive", "confirmed"]) == "confirmed"
    assert combined(["refuted", "refuted"]) == "refuted"
    assert combined(["refuted", "inconclusive"]) == "inconclusive"
    assert combined(["refuted"]) == "refuted" and combined(["confirmed"]) == "confirmed"
    assert combined([]) == "inconclusive"
    assert strength_variant("update", 1) == "update" and strength_variant("update", 2) == "update-2"


def test_the_truth_and_the_verdict_read_each_causes_combined_outcome() -> None:
    fixed, kept = [10.0] * 6, [90.0] * 6
    weak, strong = _item("update", kept, 1, 2), _item("update", fixed, 2, 2)
    drift = _item("drift", fixed, 1, 1)
    result = Confirmation([weak, strong, drift], 0.5)
    assert result.outcomes == {"update": "confirmed", "drift": "confirmed"}
    assert result.truth == "update"  # before drift in the chain's order
    assert result.confirmed is strong  # the strength that confirmed it
    assert result.verdict() == (
        "confirmed: large first policy updates (its intervention, update fix 2, removed 90% "
        "[90, 90] of the dip; 6 of 6 seeds removed >= 50% (sign test p = 0.016, level 0.016))"
    )
    assert result.judgement("update") == (
        "the verdict, large first policy updates, by its own intervention at 2 strengths: confirmed"
    )
    assert result.judgement("drift").endswith("by its own intervention: confirmed")
    assert result.per_cause == [strong, drift]
    assert result.to_json()["outcomes"] == {"update": "confirmed", "drift": "confirmed"}

    both_refuted = Confirmation([weak, _item("update", kept, 2, 2)], 0.5)
    assert both_refuted.truth == "none" and both_refuted.per_cause[0] is weak
    unsure = Confirmation([weak, _item("update", [10.0] * 5 + [90.0], 2, 2)], 0.5)
    assert unsure.truth == "inconclusive" and unsure.confirmed is None
    assert unsure.verdict().endswith(  # only the undecided strength, named by its variant
        "updates (update-2) 5 of 6 seeds removed >= 50% (sign test p = 0.11, level 0.016)"
    )
    assert unsure.judgement("update").endswith("at 2 strengths: inconclusive")
    skipped = Intervention("update", "x", {}, [], [], [], skipped="n/a", variant="update-2")
    one = Confirmation([_item("update", kept), skipped], 0.5)
    assert one.truth == "none" and one.judgement("update").endswith("intervention: refuted")
    assert one.outcomes == {"update": "refuted"}


def test_a_confirmation_saved_before_strengths_reads_and_judges_the_same(
    tmp_path: Path,
) -> None:
    """A confirmation.json without `variant`, `alpha` and `outcomes` (earlier versions): each
    intervention is its cause's only strength, judged at 5%."""
    items = [_item("extrapolation", [90.0] * 5), _item("drift", [10.0] * 5)]
    data = Confirmation(items, 0.5, horizon=900).to_json()
    for entry in data["interventions"]:
        del entry["variant"], entry["alpha"]
    del data["outcomes"]
    (tmp_path / CONFIRMATION_FILE).write_text(json.dumps(data))
    old = load_confirmation(tmp_path)
    assert old is not None
    assert [(i.variant, i.alpha) for i in old.interventions] == [
        ("extrapolation", ALPHA),
        ("drift", ALPHA),
    ]
    assert old.truth == data["truth"] == "drift" and old.verdict() == data["verdict"]
    assert "level 0.031" in old.verdict()  # 5 of 5 at 5%, as then
    assert [asdict(i) for i in old.interventions] == [asdict(i) for i in items]
