"""rliable's aggregates (Agarwal et al., 2021) on cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from wsdiag.analysis.aggregates import (
    improvement_estimate,
    iqm,
    iqm_estimate,
    probability_of_improvement,
    stratified_bootstrap,
)


def test_iqm_of_one_to_eight_is_the_mean_of_the_middle_half() -> None:
    runs = np.arange(1.0, 9.0)  # 8 seeds of one task: drop 1, 2 and 7, 8
    assert iqm(runs) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert iqm(runs[::-1]) == iqm(runs)  # order does not matter
    # runs x tasks are pooled: 8 x 2 scores, floor(0.25 * 16) = 4 dropped at each end
    two_tasks = np.column_stack([runs, runs + 8])
    assert iqm(two_tasks) == pytest.approx(np.mean(np.arange(5.0, 13.0)))
    assert iqm(np.r_[runs, 1e9]) == pytest.approx(np.mean([3, 4, 5, 6, 7]))  # an outlier is cut


def test_stratified_bootstrap_resamples_within_each_task() -> None:
    """Task 0 holds only 0s, task 1 only 10s: every stratified resample keeps that split, so the
    mean over all scores is 5 in every resample (a pooled resample would vary)."""
    scores = np.column_stack([np.zeros(6), np.full(6, 10.0)])
    low, high = stratified_bootstrap(scores, lambda s: s.mean(axis=(1, 2)), reps=2_000)
    assert low == high == 5.0
    assert all(np.isnan(stratified_bootstrap(np.ones((1, 3)))))  # one run per task: undefined


def test_iqm_interval_contains_the_truth_at_about_its_level() -> None:
    """Seeds ~ Normal(7, 2): the IQM estimates the mean 7 (a symmetric law); 95% intervals over
    200 experiments of 10 seeds hold it about 95% of the time (percentile bootstrap: a little
    less with 10 seeds)."""
    rng = np.random.default_rng(4)
    hits = 0
    for k in range(200):
        e = iqm_estimate(rng.normal(7.0, 2.0, 10), reps=2_000, seed=k)
        assert e.low <= e.value <= e.high and e.n == 10
        hits += e.low <= 7.0 <= e.high
    assert 0.85 <= hits / 200 <= 0.99


def test_probability_of_improvement_on_constructed_cases() -> None:
    low, high = np.arange(5.0), np.arange(5.0) + 10
    assert probability_of_improvement(high, low) == 1.0  # every seed of X beats every seed of Y
    assert probability_of_improvement(low, high) == 0.0
    assert probability_of_improvement(low, low) == 0.5  # identical: ties count one half
    interleaved = probability_of_improvement(np.array([1.0, 3.0]), np.array([2.0, 4.0]))
    assert interleaved == pytest.approx(1 / 4)  # only 3 > 2 of the four pairs
    # averaged over tasks: task 0 certain (1.0), task 1 identical (0.5)
    x, y = np.column_stack([high, low]), np.column_stack([low, low])
    assert probability_of_improvement(x, y) == pytest.approx(0.75)
    rng = np.random.default_rng(0)  # = the Mann-Whitney U statistic over n_x n_y, ties included
    a, b = rng.integers(0, 4, 7).astype(float), rng.integers(0, 4, 9).astype(float)
    u = mannwhitneyu(a, b, alternative="greater").statistic
    assert probability_of_improvement(a, b) == pytest.approx(u / (7 * 9))


def test_improvement_interval() -> None:
    certain = improvement_estimate(np.arange(5.0) + 10, np.arange(5.0), reps=5_000)
    assert (certain.value, certain.low, certain.high) == (1.0, 1.0, 1.0)  # any resample: 1
    even = improvement_estimate(np.arange(8.0), np.arange(8.0), reps=5_000)
    assert even.value == 0.5 and even.low < 0.5 < even.high
    rng = np.random.default_rng(2)
    shifted = improvement_estimate(rng.normal(1, 1, 12), rng.normal(0, 1, 12), reps=5_000)
    assert shifted.low <= shifted.value <= shifted.high
    same = improvement_estimate(np.arange(8.0), np.arange(8.0), reps=5_000, seed=7)
    assert same == improvement_estimate(np.arange(8.0), np.arange(8.0), reps=5_000, seed=7)
    with pytest.raises(ValueError, match="tasks"):
        probability_of_improvement(np.ones((3, 2)), np.ones((3, 1)))
