"""TOML tables to the config's dataclasses and back, each table read once into its types.

Unknown keys are errors that name the closest known key; ill-typed values are errors that name
the key. An agent section's keys are the common fields and, flat beside them, each algorithm's
own (`wsdiag.config.algorithms`): the selected algorithm's become `AgentConfig.params`, another
algorithm's are checked and have no effect. Each [mitigation.<name>] table becomes its
mitigation's `Params` (`wsdiag.config.mitigations`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from wsdiag.config.algorithms import ALGORITHMS, own_params
from wsdiag.config.mitigations import CCL_BC_MOVED, LEGACY_DEFAULTS, MOVED, TABLES
from wsdiag.config.rules import choice, closest, key
from wsdiag.config.schema import MAX_INT, AgentConfig, Config, MitigationConfig
from wsdiag.errors import WsdiagError


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check a TOML value against a field's type hint; lists become tuples."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(value, args[0], where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise WsdiagError(f"{where}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_coerce(v, item, where) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise WsdiagError(f"{where}: expected a table of keyword arguments, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise WsdiagError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, float):
            raise WsdiagError(
                f"{where}: expected an integer, got the float {value:g} (write the digits, "
                "without a decimal point or exponent)"
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise WsdiagError(f"{where}: expected an integer, got {value!r}")
        if abs(value) > MAX_INT:
            raise WsdiagError(
                f"{where}: expected an integer of at most 64 bits, got one of "
                f"{value.bit_length()} bits"
            )
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WsdiagError(f"{where}: expected a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            raise WsdiagError(
                f"{where}: expected a finite number, got an integer beyond it"
            ) from None
        if not math.isfinite(number):
            raise WsdiagError(f"{where}: expected a finite number, got {value!r}")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise WsdiagError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def build_section(cls: type, data: dict[str, Any], where: str, strict: bool = True) -> Any:
    """The dataclass `cls` from a TOML table (`where` is its dotted path). `strict = False`
    reads the [mitigation] tables of a run written by any version (`_build_mitigation`)."""
    if issubclass(cls, AgentConfig):
        return _build_agent(cls, data, where)
    if cls is MitigationConfig:
        return _build_mitigation(data, where, strict)
    names = _names(cls)
    for name in data:
        if name not in names:
            raise WsdiagError(f"unknown config key '{key(where, name)}'{closest(name, names)}")
    return cls(**_typed(cls, data, where, strict))


def _typed(cls: type, data: dict[str, Any], where: str, strict: bool) -> dict[str, Any]:
    """The values of `data` (keys of `cls`) checked against their type hints."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        path, hint = key(where, name), hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise WsdiagError(f"{path}: expected a [{name}] table")
            kwargs[name] = build_section(typing.cast(type, hint), value, path, strict)
        else:
            kwargs[name] = _coerce(value, hint, path)
    return kwargs


def _build_agent(cls: type[AgentConfig], data: dict[str, Any], where: str) -> AgentConfig:
    """An agent section: the common fields, and the algorithm's own keys as its `params`;
    another algorithm's keys (every one of them in configs saved by earlier versions) are
    checked, then have no effect."""
    common = [n for n in _names(cls) if n != "params"]
    own = {n for spec in ALGORITHMS.values() for n in _names(spec.params)}
    for name in data:
        if name not in common and name not in own:
            hint = closest(name, [*common, *sorted(own)])
            raise WsdiagError(f"unknown config key '{key(where, name)}'{hint}")
    section = cls(**_typed(cls, {k: v for k, v in data.items() if k in common}, where, True))
    choice(section.algo, tuple(ALGORITHMS), key(where, "algo"))
    rest = {k: v for k, v in data.items() if k not in common}
    params = None
    for spec in (ALGORITHMS[section.algo], *ALGORITHMS.values()):
        keys = set(_names(spec.params)) & set(rest)
        table = {k: rest.pop(k) for k in sorted(keys)}
        if params is None:  # the selected algorithm, first
            params = spec.params(**_typed(spec.params, table, where, True))
        elif table:
            spec.check(spec.params(**_typed(spec.params, table, where, True)), where)
    return dataclasses.replace(section, params=params)


def _build_mitigation(data: dict[str, Any], where: str, strict: bool) -> MitigationConfig:
    """[mitigation]: `name` and one table per mitigation, each read into its `Params` (checked
    by `validate`). What earlier versions wrote by default is dropped (LEGACY_DEFAULTS). Read
    leniently (`strict = False`, a report), any name is kept and a table this version cannot
    read stays the TOML table it was."""
    name = _coerce(data.get("name", "none"), str, f"{where}.name")
    legacy = list(LEGACY_DEFAULTS)  # compared by equality: a table's values may be lists
    given = {}
    for table, values in data.items():
        if table == "name":
            continue
        if not isinstance(values, dict):
            hint = closest(table, ["name"])
            raise WsdiagError(
                f"{where}.{table}: expected a [{where}.{table}] table of parameters, or the key "
                f"'name'{hint}"
            )
        given[table] = {k: v for k, v in values.items() if (table, k, v) not in legacy}
    if not strict:
        return MitigationConfig(name, {t: _lenient(t, v, where) for t, v in given.items()})
    if name in MOVED:
        raise WsdiagError(f"{where}.name = '{name}': {MOVED[name]}")
    choice(name, tuple(TABLES), f"{where}.name")
    if given.get("bc_penalty", {}).get("controller") == "confidence":
        raise WsdiagError(f"[{where}.bc_penalty] controller = 'confidence': {CCL_BC_MOVED}")
    tables = {}
    for table in sorted((set(given) - set(MOVED)) | ({name} - {"none"})):
        if table not in TABLES or table == "none":
            names = list(TABLES)[1:]
            raise WsdiagError(f"unknown mitigation table [{where}.{table}]{closest(table, names)}")
        path = f"{where}.{table}"
        tables[table] = build_section(TABLES[table].params, given.get(table, {}), path)
    return MitigationConfig(name, tables)


def _lenient(table: str, values: dict[str, Any], where: str) -> Any:
    """A table of a run written by any version: its `Params` if this version reads it, else
    the TOML table as written."""
    if table not in TABLES:
        return values
    try:
        return build_section(TABLES[table].params, values, f"{where}.{table}")
    except WsdiagError:
        return values


# ----------------------------------------------------------------------------- back to TOML


def _clean(obj: Any) -> Any:
    """TOML-ready: tuples as lists, None (TOML has no null) left out of tables."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _params_table(params: Any) -> dict[str, Any]:
    return _clean(dataclasses.asdict(params) if dataclasses.is_dataclass(params) else params)


def agent_table(agent: AgentConfig, every_algorithm: bool = False) -> dict[str, Any]:
    """An agent section as TOML writes it: the algorithm's own keys flat among the common fields.
    With `every_algorithm`, the other algorithms' keys too, at their defaults: the shape every
    saved config.toml has had, which a sweep's pretraining hash reads."""
    table: dict[str, Any] = {}
    for name in _names(type(agent)):
        if name != "params":
            table[name] = getattr(agent, name)
            continue
        if every_algorithm:
            for spec in ALGORITHMS.values():
                table |= _params_table(spec.params())
        table |= _params_table(own_params(agent))
    return _clean(table)


def to_dict(config: Config) -> dict[str, Any]:
    """A TOML-ready table (tuples as lists; a field left None, such as an unset target return,
    is omitted; the agents' algorithm keys flat, every algorithm's; the mitigation's tables
    nested under [mitigation])."""
    table: dict[str, Any] = {}
    for name in _names(Config):
        value = getattr(config, name)
        if isinstance(value, AgentConfig):
            table[name] = agent_table(value, every_algorithm=True)
        elif isinstance(value, MitigationConfig):
            tables = {k: _params_table(v) for k, v in value.tables.items()}
            table[name] = {"name": value.name, **tables}
        elif dataclasses.is_dataclass(value):
            table[name] = _clean(dataclasses.asdict(value))
        elif value is not None:
            table[name] = value
    return table
