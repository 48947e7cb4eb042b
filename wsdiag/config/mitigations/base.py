"""What the config knows of a mitigation: the table [mitigation.<name>] (a frozen dataclass,
every field documented where it is declared), its check and what it requires of the rest of the
config. What the mitigation installs lives in wsdiag.mitigations.<name>, which takes the table's
`TABLE` from here, so that the name is written once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wsdiag.config.schema import Config, OwnParams


def _no_check(params: Any, where: str) -> None:
    return None


def _no_requirement(config: Config) -> None:
    return None


@dataclass(frozen=True)
class Table:
    """One mitigation's table: `check(params, where)` names the bad field under `where`
    ("mitigation.<name>"); `requires(config)` checks the rest of the config when it is the
    selected mitigation."""

    name: str
    params: type[OwnParams]
    check: Callable[[Any, str], None] = _no_check
    requires: Callable[[Config], None] = _no_requirement
