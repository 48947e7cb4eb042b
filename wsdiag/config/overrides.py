"""TOML text in: a config file read with its size and nesting bounded, and `--set
section.key=value` overrides, each value parsed as TOML (`--set finetune.hidden=[64,64]`) or,
when it is not valid TOML, taken as a plain string (`--set name=my-run`)."""

from __future__ import annotations

import copy
import tomllib
import typing
from pathlib import Path
from typing import Any

from wsdiag.config.schema import MAX_CONFIG_BYTES, MAX_TOML_DEPTH
from wsdiag.errors import WsdiagError


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise WsdiagError(f"--set expects section.key=value, got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except (RecursionError, ValueError) as exc:  # nesting, or an integer of 4300+ digits
        raise WsdiagError(f"--set {key.strip()}: invalid TOML value: {_toml_problem(exc)}") from exc
    check_depth(value, f"--set {key.strip()}")
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: typing.Sequence[str]) -> dict[str, Any]:
    """Return a copy of a raw config table with `section.key=value` overrides applied."""
    values = []
    for text in overrides:
        keys, value = _parse_override(text)
        values.append((".".join(keys), value))
    return apply_values(data, values)


def apply_values(data: dict[str, Any], values: typing.Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Return a copy of a raw config table with each ("section.key", value) set (a sweep file's
    overrides are TOML values already)."""
    data = copy.deepcopy(data)
    for key, value in values:
        keys = key.strip().split(".")
        table = data
        for k in keys[:-1]:
            table = table.setdefault(k, {})
            if not isinstance(table, dict):
                raise WsdiagError(f"--set {key}: '{k}' is not a section")
        table[keys[-1]] = copy.deepcopy(value)
    return data


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file's table, with a clear error for a missing file or bad TOML."""
    path = Path(path)
    if not path.is_file():
        raise WsdiagError(f"config file not found: {path}")
    if path.stat().st_size > MAX_CONFIG_BYTES:  # parsing a crafted one could take minutes
        raise WsdiagError(f"{path}: {path.stat().st_size} bytes, not a config (at most "
                          f"{MAX_CONFIG_BYTES})")  # fmt: skip
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise WsdiagError(f"{path}: invalid TOML: {_toml_problem(exc)}") from exc
    check_depth(data, str(path))
    return data


def _toml_problem(exc: Exception) -> str:
    """One line on why TOML text did not parse (Python's own for nesting and huge integers)."""
    if isinstance(exc, RecursionError):
        return f"nested more than {MAX_TOML_DEPTH} levels deep"
    return str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__


def check_depth(value: Any, where: str) -> None:
    """Refuse tables and arrays nested more than MAX_TOML_DEPTH levels deep (no config needs
    it, and copying or writing such a value would exhaust Python's recursion limit)."""
    level: list[tuple[Any, int]] = [(value, 0)]
    while level:
        item, depth = level.pop()
        if depth > MAX_TOML_DEPTH:
            raise WsdiagError(
                f"{where}: invalid TOML: nested more than {MAX_TOML_DEPTH} levels deep"
            )
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        level.extend((child, depth + 1) for child in children)
