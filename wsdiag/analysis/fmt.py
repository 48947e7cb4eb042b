"""Numbers as the report and the diagnosis print them."""

from __future__ import annotations


def num(x: float | None) -> str:
    """Three significant digits, without exponents for |x| < 1e6: 1234.5 -> '1235'."""
    if x is None or x != x:
        return "n/a"
    if 100 <= abs(x) < 1e6:
        return f"{x:.0f}"
    return f"{x:.3g}"
