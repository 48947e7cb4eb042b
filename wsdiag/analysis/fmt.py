"""Numbers as the report and the diagnosis print them."""

from __future__ import annotations

import math


def num(x: float | None) -> str:
    """Three significant digits, without exponents for |x| < 1e6: 1234.5 -> '1235'."""
    if x is None or x != x:
        return "n/a"
    if 100 <= abs(x) < 1e6:
        return f"{x:.0f}"
    return f"{x:.3g}"


def percent_interval(value: float, low: float, high: float) -> str:
    """'63% [38, 94]', or '63%' where it has no interval (a non-finite low end)."""
    ci = f" [{100 * low:.0f}, {100 * high:.0f}]" if math.isfinite(low) else ""
    return f"{100 * value:.0f}%{ci}"
