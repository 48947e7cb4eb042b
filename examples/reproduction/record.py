"""The record of each claim's measured effects (examples/results/reproduction/claims.json):
entries built from the sweeps' estimates, and the record file read, merged and written.

An entry's fields and the rule that reads it: examples/reproduction/verdict.py. Entries computed
from runs name their sweep and the wsdiag commits the runs recorded (meta.json); entries of a
sweep that was not found are kept as they are in the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from examples.reproduction.verdict import check_entry
from wsdiag.analysis.aggregates import Estimate
from wsdiag.analysis.run import Run
from wsdiag.rundir import META_FILE

Entry = dict[str, Any]
DIGITS = 4  # significant digits kept in the record


def _round(value: float) -> float | None:
    """`value` to DIGITS significant digits; None for NaN (JSON has no NaN)."""
    return float(f"{value:.{DIGITS}g}") if np.isfinite(value) else None


def interval(e: Estimate, label: str | None = None) -> dict[str, Any]:
    """{label, estimate, low, high} of an estimate with its 95% interval (None where it has
    none: one seed)."""
    out = {"estimate": _round(e.value), "low": _round(e.low), "high": _round(e.high)}
    return out if label is None else {"label": label, **out}


def effect(claim: str, part: str, says: str, e: Estimate, null: float, measure: str,
           paper: float | None = None) -> Entry:  # fmt: skip
    """An effect with its interval against no effect (`null`), the paper's above it."""
    entry = {"claim": claim, "part": part, "says": says, "kind": "effect", "measure": measure,
             **interval(e), "null": null, "n": e.n}  # fmt: skip
    return entry if paper is None else {**entry, "paper": paper}


def in_range(claim: str, part: str, says: str, e: Estimate, paper: tuple[float, float],
             measure: str) -> Entry:  # fmt: skip
    """A value with its interval against the paper's range."""
    return {"claim": claim, "part": part, "says": says, "kind": "range", "measure": measure,
            **interval(e), "paper_range": list(paper), "n": e.n}  # fmt: skip


def intervals(claim: str, part: str, says: str, x: tuple[str, Estimate],
              y: tuple[str, Estimate]) -> Entry:  # fmt: skip
    """Two groups by their own intervals, the paper saying x > y."""
    return {"claim": claim, "part": part, "says": says, "kind": "intervals",
            "x": interval(x[1], x[0]), "y": interval(y[1], y[0])}  # fmt: skip


def counts(claim: str, part: str, says: str, x: tuple[str, int, int],
           y: tuple[str, int, int]) -> Entry:  # fmt: skip
    """k of n seeds with a binary outcome in each group, the paper saying x's rate is higher."""
    return {"claim": claim, "part": part, "says": says, "kind": "counts",
            "x": {"label": x[0], "k": x[1], "n": x[2]},
            "y": {"label": y[0], "k": y[1], "n": y[2]}}  # fmt: skip


def _flat(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


IGNORED = ("name", "seed")  # what always differs between two variants' runs


def _shown(key: str, value: Any) -> Any:
    """A config value as a record shows it: a path by its last part (a sweep's pretraining
    folder, `<hash>-seed<k>`), never the machine's folders above it."""
    return Path(value).name if key.endswith(".path") and isinstance(value, str) else value


def differences(a: Sequence[Run], b: Sequence[Run]) -> list[str]:
    """'key: a's value vs b's' for every config value in which the first runs of two groups
    differ (name and seed aside): the factor a comparison tests, and anything else it varies.
    A mitigation's table that only one side has is left out: `mitigation.name` differs. Paths
    show their last part (`_shown`)."""
    x, y = _flat(a[0].config_dict), _flat(b[0].config_dict)
    return [
        f"{key}: {_shown(key, x.get(key))} vs {_shown(key, y.get(key))}"
        for key in sorted(set(x) | set(y))
        if key not in IGNORED
        and x.get(key) != y.get(key)
        and not (key.startswith("mitigation.") and (key not in x or key not in y))
    ]


def provenance(folder: Path, runs: Sequence[Run]) -> str:
    """Where computed entries come from: the sweep folder's name and the wsdiag commits its
    runs recorded."""
    shas = set()
    for run in runs:
        meta = run.path / META_FILE
        sha = json.loads(meta.read_text()).get("git_sha") if meta.exists() else None
        shas.add(sha[:7] if sha else "unknown")
    return (
        f"sweep {folder.name}, computed from its runs by python -m examples.reproduction.tables "
        f"(runs recorded at wsdiag {', '.join(sorted(shas))})"
    )


def read(path: Path) -> list[Entry]:
    """The record's entries ([] when the file does not exist yet)."""
    return json.loads(path.read_text())["entries"] if path.exists() else []


def merge(old: Sequence[Entry], new: Sequence[Entry]) -> list[Entry]:
    """`old` with each (claim, part) that `new` has replaced by new's, new parts added; sorted
    by claim, each claim's parts in their first order."""
    fresh = {(e["claim"], e["part"]): e for e in new}
    merged = [fresh.pop((e["claim"], e["part"]), e) for e in old]
    merged += [e for e in new if (e["claim"], e["part"]) in fresh]
    return sorted(merged, key=lambda e: int(e["claim"].lstrip("R")))


def write(path: Path, entries: Sequence[Entry]) -> None:
    """The record as JSON, every entry checked first."""
    for entry in entries:
        check_entry(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"entries": list(entries)}, indent=1, ensure_ascii=False)
    path.write_text(text + "\n")
