"""Runs that share a config (seeds of one experiment) and the labels that tell groups apart.

Two runs belong to one group when their configs are equal once `IGNORED` keys (the seed, and
settings that do not change the experiment) are removed. A group's label is its run name when
the names tell the groups apart; otherwise the name plus the settings of `LABEL_SECTIONS` whose
values differ between groups (`mitigation` first), e.g. "demo: warmup_steps=5000,
load=actor+critic".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wsdiag.analysis.run import Run

IGNORED = ("seed", "threads", "device", "pretrain.path")
LABEL_SECTIONS = ("mitigation", "warmstart")


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists become tuples (hashable)."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = tuple(value) if isinstance(value, list) else value
    return flat


@dataclass
class Group:
    key: tuple[tuple[str, Any], ...]
    runs: list[Run]
    label: str = ""

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.key)


def group_runs(runs: Sequence[Run]) -> list[Group]:
    """Runs grouped by config (first-seen order), each group labelled (module docstring)."""
    groups: dict[tuple, Group] = {}
    for run in runs:
        flat = {k: v for k, v in flatten(run.config_dict).items() if k not in IGNORED}
        key = tuple(sorted(flat.items(), key=lambda kv: kv[0]))
        groups.setdefault(key, Group(key, [])).runs.append(run)
    result = list(groups.values())
    tables = [g.settings for g in result]
    labels = [label(t, []) for t in tables]  # the names alone, when they are distinct
    for sections in (LABEL_SECTIONS, None):  # all sections when those do not tell groups apart
        if len(set(labels)) == len(labels):
            break
        labels = [label(t, differing_keys(tables, sections)) for t in tables]
    for g, text in zip(result, labels, strict=True):
        g.label = text
    return result


def differing_keys(
    settings: Sequence[dict[str, Any]], sections: Sequence[str] | None = LABEL_SECTIONS
) -> list[str]:
    """Keys (of `sections`; None: any but the name) whose values differ between tables."""
    keys = {k for s in settings for k in s if "." in k}
    if sections is not None:
        keys = {k for k in keys if k.split(".")[0] in sections}
    order = {section: i for i, section in enumerate(LABEL_SECTIONS)}
    varying = [k for k in keys if len({repr(s.get(k)) for s in settings}) > 1]
    return sorted(varying, key=lambda k: (order.get(k.split(".")[0], len(order)), k))


def label(settings: dict[str, Any], keys: Sequence[str]) -> str:
    """The run name plus `key=value` for each of `keys` ([warmstart] keys without the section)."""
    parts = [f"{_short(k)}={_value(settings.get(k))}" for k in keys]
    name = str(settings.get("name", "run"))
    return f"{name}: {', '.join(parts)}" if parts else name


def _short(key: str) -> str:
    section, _, rest = key.partition(".")
    return rest if section == "warmstart" else key


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "+".join(map(str, value)) or "none"
    return "none" if value is None else str(value)
