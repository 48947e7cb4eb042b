"""A sweep file: the base experiment, the seeds, overrides for every run, variants and a grid.

    name = "mitigations"                    # the sweep's folder: <out>/<name>/
    base = "../../wsdiag/configs/demo.toml" # the experiment every run starts from (relative)
    seeds = [0, 1, 2]
    [set]                                   # overrides for every run (optional)
    "finetune.steps" = 8000
    [[variant]]                             # each variant: a name and its overrides
    name = "plain"
    [[variant]]
    name = "ccl-pqd"
    set = { "mitigation.name" = "ccl_pqd" }
    seeds = [0, 1]                          # optional: this variant's own seeds
    [grid]                                  # optional: every combination, for every variant
    "mitigation.ccl_pqd.alpha_start" = [1e-4, 1e-2]

Keys are the `--set` keys of `wsdiag train`, values TOML values; `{out}` in a string value is
the folder given by `--out` (`"pretrain.path" = "{out}/expert-seed0"`: an agent another command
saved there). Everything is checked when the
file loads: its own keys, every run's config (with the config loader's checks), names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsdiag.config import read_toml
from wsdiag.errors import WsdiagError

TOP_KEYS = ("name", "base", "seeds", "set", "variant", "grid")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = None  # None: the sweep's seeds


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file (module docstring); `base` is resolved against the file's folder."""

    path: Path
    name: str
    base: Path
    seeds: tuple[int, ...]
    common: dict[str, Any]
    variants: tuple[Variant, ...]
    grid: dict[str, tuple[Any, ...]]

    def seeds_of(self, variant: Variant) -> tuple[int, ...]:
        return self.seeds if variant.seeds is None else variant.seeds


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WsdiagError(f"{where}: expected a table of 'section.key' = value")
    return dict(value)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise WsdiagError(f"{where} = {value!r}: use letters, digits, '-', '_' and '.'")
    return value


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
    ):
        raise WsdiagError(f"{where}: seeds must be a non-empty list of integers >= 0")
    if len(set(value)) != len(value):
        raise WsdiagError(f"{where}: a seed is listed twice: {value}")
    return tuple(value)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file's own structure (the runs' configs are checked by the plan)."""
    path = Path(path)
    if not path.is_file():
        raise WsdiagError(f"sweep file not found: {path}")
    data = read_toml(path)
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise WsdiagError(f"{path}: unknown key '{unknown[0]}' (known: {', '.join(TOP_KEYS)})")
    for key in ("name", "base"):
        if key not in data:
            raise WsdiagError(f"{path}: missing '{key}'")
    if not isinstance(data.get("variant", []), list):
        raise WsdiagError(f"{path}: variants are [[variant]] tables")
    base = (path.parent / str(data["base"])).resolve()
    if not base.is_file():
        raise WsdiagError(f"{path}: base config not found: {base}")
    seeds = _seeds(data.get("seeds", [0]), str(path))
    variants = []
    for i, entry in enumerate(data.get("variant", [{"name": "base"}])):
        where = f"{path}: variant {i + 1}"
        entry = _table(entry, where)
        extra = sorted(set(entry) - {"name", "set", "seeds"})
        if extra:
            raise WsdiagError(
                f"{where}: unknown key '{extra[0]}' (a variant has name, set and seeds)"
            )
        if "name" not in entry:
            raise WsdiagError(f"{where}: missing 'name'")
        name = _name(entry["name"], f"{where} name")
        own = _seeds(entry["seeds"], where) if "seeds" in entry else None
        variants.append(Variant(name, _table(entry.get("set", {}), where), own))
    names = [v.name for v in variants]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise WsdiagError(f"{path}: variant name '{duplicated[0]}' is used twice")
    grid = {}
    for key, values in _table(data.get("grid", {}), f"{path}: [grid]").items():
        if not isinstance(values, list) or not values:
            raise WsdiagError(f"{path}: [grid] {key} must be a non-empty list of values")
        grid[key] = tuple(values)
    return SweepSpec(
        path=path,
        name=_name(data["name"], f"{path}: name"),
        base=base,
        seeds=seeds,
        common=_table(data.get("set", {}), f"{path}: [set]"),
        variants=tuple(variants),
        grid=grid,
    )
