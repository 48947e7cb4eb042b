"""The benchmark's split: which scenarios are tuned on (dev) and which are held out (test).

A split file is a small TOML file of its own, one list per split, each scenario named
'part/variant' (the sweep file's `name`, then its variant's; a run 'part/variant-seed2' is of
scenario 'part/variant'):

    # docs/results/diagnosis-benchmark.md's split
    dev = ["diagnosis_suite/actor-warmup", "diagnosis_suite/actor-critic"]
    test = ["diagnosis_suite_ip/actor-warmup", "diagnosis_suite_ip/actor-critic"]

It is a file apart from the suite's sweep files because one split spans several parts (a test
split holds whole environments that dev has not), and a sweep file holds one part. A scenario in
neither list is in neither split. Refused, each in one line: a scenario listed in both, and a
test scenario of which a record made for the dev split exists (its runs were looked at while the
rules were tuned).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wsdiag.config import read_toml
from wsdiag.errors import WsdiagError
from wsdiag.suite.record import SuiteRecord
from wsdiag.suite.scenarios import scenario

DEV, TEST = "dev", "test"
SPLITS = (DEV, TEST)


@dataclass(frozen=True)
class Split:
    """The scenarios ('part/variant') of each split, as the split file lists them."""

    path: Path
    dev: tuple[str, ...]
    test: tuple[str, ...]

    def scenarios(self, which: str) -> tuple[str, ...]:
        """The scenarios of `which` split ("dev" or "test")."""
        if which not in SPLITS:
            raise WsdiagError(f"unknown split '{which}' (known: {', '.join(SPLITS)})")
        return self.dev if which == DEV else self.test

    def variants(self, which: str, part: str) -> set[str]:
        """The variants of sweep `part` in `which` split."""
        prefix = f"{part}/"
        return {s[len(prefix) :] for s in self.scenarios(which) if s.startswith(prefix)}

    def keep(self, which: str, records: list[SuiteRecord]) -> list[SuiteRecord]:
        """The records of `which` split's scenarios, after `check`."""
        self.check(records)
        wanted = set(self.scenarios(which))
        return [r for r in records if scenario(r.run) in wanted]

    def check(self, records: list[SuiteRecord]) -> None:
        """Refuse a test scenario that a record made for the dev split holds."""
        test = set(self.test)
        seen = next((r for r in records if r.split == DEV and scenario(r.run) in test), None)
        if seen is not None:
            raise WsdiagError(f"{self.path}: test scenario '{scenario(seen.run)}' has a record "
                              f"made for the dev split ({seen.run}); hold out another")  # fmt: skip


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and "/" in v for v in value):
        raise WsdiagError(f"{where}: a list of scenarios named 'part/variant'")
    twice = sorted({v for v in value if value.count(v) > 1})
    if twice:
        raise WsdiagError(f"{where}: '{twice[0]}' is listed twice")
    return tuple(value)


def load_split(path: Path) -> Split:
    """A split file (module docstring), checked: its two lists and no scenario in both."""
    if not path.is_file():
        raise WsdiagError(f"split file not found: {path}")
    data = read_toml(path)
    unknown = sorted(set(data) - set(SPLITS))
    if unknown:
        raise WsdiagError(f"{path}: unknown key '{unknown[0]}' (known: {', '.join(SPLITS)})")
    dev, test = (_names(data.get(k, []), f"{path}: {k}") for k in SPLITS)
    both = sorted(set(dev) & set(test))
    if both:
        raise WsdiagError(f"{path}: scenario '{both[0]}' is in both dev and test")
    return Split(path, dev, test)
