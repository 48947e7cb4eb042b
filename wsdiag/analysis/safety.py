"""The safety table of Wexler, Sarafian & Kraus (Table I): tail statistics of a learning curve.

For a series x_1..x_n and a confidence level c (0.95, 0.99, 0.999), with the lower tail
alpha = 1 - c (the rl-reliability-metrics convention, Chan et al. 2020: risk is the bad tail):

    VaR_c(x)  = the alpha-quantile of x (linear interpolation between order statistics)
    CVaR_c(x) = mean { x_i : x_i <= VaR_c(x) }     (never empty: min x <= VaR)

A level is reported only when the series has enough values to observe its tail: VaR_c and
CVaR_c need n >= ceil(1 / alpha) values (`min_values`: 20 for 95%, 100 for 99%, 1000 for 99.9%),
so that the tail holds at least one value in expectation (n alpha >= 1). With fewer, the
alpha-quantile falls below the second-smallest value, CVaR is the minimum, and the column
would repeat `min` under another name; it is NaN ("n/a" in the report) instead.

Both are computed on two series of the fine-tuning window (see `degradation`): the evaluation
returns R_i ("returns") and their step-to-step differences R_{i+1} - R_i ("differences",
short-term risk: how hard one evaluation interval can drop).

Across seeds, `pooled_safety_table` pools the curves: the returns of every curve in one sample,
and the differences taken within each curve (never across the end of one and the start of the
next).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

LEVELS = (0.95, 0.99, 0.999)


def var_cvar(x: np.ndarray, level: float) -> tuple[float, float]:
    """(VaR, CVaR) of the lower tail 1 - level of x (see module docstring)."""
    x = np.asarray(x, float)
    if len(x) == 0:
        return float("nan"), float("nan")
    var = float(np.quantile(x, 1.0 - level))
    return var, float(x[x <= var].mean())


def min_values(level: float) -> int:
    """The fewest values for which VaR and CVaR at `level` are reported: ceil(1 / (1 - level))
    (rounded first, so that 1 / (1 - 0.99) = 100.00000000000009 needs 100)."""
    return math.ceil(round(1.0 / (1.0 - level), 6))


def _row(x: np.ndarray, levels: Sequence[float]) -> dict[str, float]:
    x = np.asarray(x, float)
    empty = len(x) == 0
    row = {
        "min": float("nan") if empty else float(x.min()),
        "max": float("nan") if empty else float(x.max()),
        "mean": float("nan") if empty else float(x.mean()),
        "n": float(len(x)),
    }
    for level in levels:
        enough = len(x) >= min_values(level)
        var, cvar = var_cvar(x, level) if enough else (float("nan"), float("nan"))
        tag = f"{100 * level:g}"
        row[f"VaR{tag}"], row[f"CVaR{tag}"] = var, cvar
    return row


def safety_table(returns: np.ndarray, levels: Sequence[float] = LEVELS) -> pd.DataFrame:
    """Rows `returns` and `differences`; columns min, max, mean, n (values in the series),
    VaR<c>, CVaR<c> per level (NaN below `min_values(c)`)."""
    return pooled_safety_table([returns], levels)


def pooled_safety_table(
    curves: Sequence[np.ndarray], levels: Sequence[float] = LEVELS
) -> pd.DataFrame:
    """`safety_table` of several curves (seeds) pooled: see the module docstring."""
    curves = [np.asarray(c, float) for c in curves]
    returns = np.concatenate(curves) if curves else np.empty(0)
    diffs = np.concatenate([np.diff(c) for c in curves]) if curves else np.empty(0)
    rows = {"returns": _row(returns, levels), "differences": _row(diffs, levels)}
    return pd.DataFrame.from_dict(rows, orient="index")
