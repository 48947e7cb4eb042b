"""Statistics across seeds: the mean with a percentile-bootstrap confidence interval.

For values x_1..x_n, B resamples x*_b (n draws with replacement) give means m_b; the interval at
level c is the (1-c)/2 and (1+c)/2 quantiles of m_1..m_B (Efron's percentile bootstrap). With
n = 1 the interval is undefined (NaN); with identical values it is the point itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_RESAMPLES = 10_000


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_ci(
    values: np.ndarray, level: float = 0.95, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> Interval:
    """Mean of `values` and its percentile-bootstrap interval (see module docstring)."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    if len(x) == 1:
        return Interval(float(x[0]), float("nan"), float("nan"), 1)
    low, high = bootstrap_band(x[:, None], level, n_resamples, seed)
    return Interval(float(x.mean()), float(low[0]), float(high[0]), len(x))


def bootstrap_band(
    curves: np.ndarray, level: float = 0.95, n_resamples: int = 2_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise bootstrap interval of the mean of curves [n_runs, n_points] (runs resampled)."""
    curves = np.asarray(curves, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(curves), size=(n_resamples, len(curves)))
    means = curves[idx].mean(axis=1)  # [B, n_points]
    alpha = (1.0 - level) / 2
    return np.quantile(means, alpha, axis=0), np.quantile(means, 1.0 - alpha, axis=0)


def finite(values: list[float | None]) -> np.ndarray:
    """Floats with None as NaN (NaN values are dropped by `bootstrap_ci`)."""
    return np.array([np.nan if v is None else v for v in values], float)
