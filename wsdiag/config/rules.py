"""The checks every part of a config is written with: each raises a one-line `WsdiagError` that
names the key (`where` is its dotted path, "" at the top level)."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from wsdiag.errors import WsdiagError


def closest(name: str, choices: typing.Iterable[str]) -> str:
    """The hint " (did you mean 'x'?)" with the choice closest to `name`, or ""."""
    match = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def choice(value: str, choices: typing.Sequence[str], where: str) -> None:
    """`value` must be one of `choices` (the error names the closest)."""
    if value not in choices:
        raise WsdiagError(
            f"{where} = '{value}' is not one of {', '.join(choices)}{closest(value, choices)}"
        )


def at_least(section: Any, where: str, low: float, *names: str) -> None:
    """Each named field (None: unset, skipped) must be >= low."""
    for name in names:
        value = getattr(section, name)
        if value is not None and value < low:
            raise WsdiagError(f"{key(where, name)} must be >= {low:g}, got {value!r}")


def positive(section: Any, where: str, *names: str) -> None:
    """Each named field (None: unset, skipped) must be > 0."""
    for name in names:
        value = getattr(section, name)
        if value is not None and not value > 0:
            raise WsdiagError(f"{key(where, name)} must be > 0, got {value!r}")


def within(section: Any, where: str, name: str, low: float, high: float, open_low=False) -> None:
    """low <= field <= high (low < field with open_low); None is skipped."""
    value = getattr(section, name)
    if value is None:
        return
    if not (low < value if open_low else low <= value) or not value <= high:
        bracket = "(" if open_low else "["
        raise WsdiagError(
            f"{key(where, name)} must be in {bracket}{_number(low)}, {_number(high)}], "
            f"got {value!r}"
        )


def widths(section: Any, where: str, name: str) -> None:
    """The field is a non-empty list of positive layer widths."""
    value = getattr(section, name)
    if not value or min(value) < 1:
        raise WsdiagError(f"{key(where, name)} must be a non-empty list of positive widths")


def need(condition: bool, message: str) -> None:
    """A check: raise WsdiagError(message) unless `condition`."""
    if not condition:
        raise WsdiagError(message)


def one_of(value: str, options: tuple[str, ...], where: str) -> None:
    """`value` must be one of `options` (the mitigations' form: no closest-name hint)."""
    need(value in options, f"{where} = '{value}' is not one of {', '.join(options)}")


def _number(value: float) -> str:
    """An integer bound in full (2147483647), a float one short (0.5, 1e-06)."""
    return str(value) if isinstance(value, int) else f"{value:g}"
