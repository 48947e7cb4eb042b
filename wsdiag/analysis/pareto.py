"""Pareto front of runs trading degradation (to minimise) against return (to maximise).

Point i is dominated when some j has x_j <= x_i and y_j >= y_i with at least one strict
inequality; the front is the set of points no other point dominates.
"""

from __future__ import annotations

import numpy as np


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated points (minimise x, maximise y); NaN points excluded."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    no_worse = (x[None, :] <= x[:, None]) & (y[None, :] >= y[:, None])  # [i, j]: j vs i
    better = (x[None, :] < x[:, None]) | (y[None, :] > y[:, None])
    dominated = (no_worse & better & ok[None, :]).any(axis=1)
    return ok & ~dominated
