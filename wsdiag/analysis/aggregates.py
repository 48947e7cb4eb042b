"""Aggregates across seeds as rliable defines them (Agarwal et al., 2021, "Deep Reinforcement
Learning at the Edge of the Statistical Precipice", NeurIPS; library `rliable`).

Scores form a matrix x[n, m]: run (seed) n of task m. Then

    IQM(x)       = the 25% trimmed mean of all N*M scores pooled: sort them, drop
                   floor(0.25 N M) from each end, average the rest (scipy.stats.trim_mean);
    P(X > Y)     = (1/M) sum_m  (1 / (N_x N_y)) sum_{i,j} S(x[i, m], y[j, m]),
                   S(a, b) = 1 if a > b, 1/2 if a = b, 0 otherwise
                   (the Mann-Whitney U statistic of each task over N_x N_y, averaged over tasks);
    stratified bootstrap: a resample draws, for every task m independently, N runs of that task
                   with replacement; a 100c% interval is the (1-c)/2 and (1+c)/2 quantiles of
                   the statistic over B resamples (the percentile method, rliable's default,
                   B = 50,000). For P(X > Y) the runs of X and of Y are resampled independently.

Resamples come from a seeded numpy Generator, so a report's intervals are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import trim_mean

REPS = 50_000  # rliable's default number of bootstrap resamples
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    value: float  # the statistic on the scores themselves
    low: float  # percentile-bootstrap interval (NaN with one run per task)
    high: float
    n: int  # runs per task (the smaller of X and Y for P(X > Y))


def _matrix(scores: np.ndarray) -> np.ndarray:
    """A [runs, tasks] float matrix (a vector is one task)."""
    x = np.asarray(scores, float)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"scores must be [runs, tasks] with at least one of each, got {x.shape}")
    return x


def iqm(scores: np.ndarray) -> float:
    """The interquartile mean of a [runs, tasks] score matrix (module docstring)."""
    return float(trim_mean(_matrix(scores), 0.25, axis=None))


def _iqm_resampled(samples: np.ndarray) -> np.ndarray:
    """IQM of each resample of a [B, runs, tasks] stack."""
    return trim_mean(samples.reshape(len(samples), -1), 0.25, axis=1)


def _resample(x: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """[reps, N, M]: for each task m, N of its runs drawn with replacement (stratified)."""
    n, m = x.shape
    rows = rng.integers(0, n, size=(reps, n, m))
    return x[rows, np.arange(m)]


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1.0 - tail))


def stratified_bootstrap(
    scores: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] = _iqm_resampled,
    level: float = LEVEL,
    reps: int = REPS,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of `statistic` ([B, runs, tasks] -> [B]; default the IQM) over
    stratified resamples of a [runs, tasks] matrix; NaN with one run per task."""
    x = _matrix(scores)
    if len(x) < 2:
        return float("nan"), float("nan")
    return _interval(statistic(_resample(x, reps, np.random.default_rng(seed))), level)


def iqm_estimate(
    scores: np.ndarray, level: float = LEVEL, reps: int = REPS, seed: int = 0
) -> Estimate:
    """IQM of the scores with its stratified-bootstrap interval."""
    x = _matrix(scores)
    low, high = stratified_bootstrap(x, _iqm_resampled, level, reps, seed)
    return Estimate(iqm(x), low, high, len(x))


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) of stacks [..., N_x, M] and [..., N_y, M] (module docstring)."""
    a, b = x[..., :, None, :], y[..., None, :, :]
    wins = (a > b).mean(axis=(-3, -2)) + 0.5 * (a == b).mean(axis=(-3, -2))  # [..., M]
    return wins.mean(axis=-1)


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """P(X > Y) of two [runs, tasks] matrices with the same tasks (module docstring)."""
    x, y = _matrix(scores_x), _matrix(scores_y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"X has {x.shape[1]} tasks, Y {y.shape[1]}")
    return float(_improvement(x, y))


def improvement_estimate(
    scores_x: np.ndarray,
    scores_y: np.ndarray,
    level: float = LEVEL,
    reps: int = REPS,
    seed: int = 0,
) -> Estimate:
    """P(X > Y) with its interval: X's and Y's runs resampled independently, each stratified."""
    x, y = _matrix(scores_x), _matrix(scores_y)
    value = probability_of_improvement(x, y)
    n = min(len(x), len(y))
    if n < 2:
        return Estimate(value, float("nan"), float("nan"), n)
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // (len(x) * len(y) * x.shape[1]))  # bounds the [B, Nx, Ny, M] mask
    values = np.concatenate([
        _improvement(_resample(x, k, rng), _resample(y, k, rng))
        for k in np.diff([*range(0, reps, chunk), reps])
    ])  # fmt: skip
    low, high = _interval(values, level)
    return Estimate(value, low, high, n)
