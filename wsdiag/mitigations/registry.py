"""The mitigation registry: every mitigation by its name, and the checks a config gets from it.

Importing wsdiag.mitigations installs `SCHEMA` into wsdiag.config, so that from then on every
config that loads has its [mitigation] table checked: the name, each [mitigation.<name>] table's
fields (types, ranges: the mitigation's `check`) and the selected mitigation's requirements on
the rest of the config, before anything runs; the tables come back completed with defaults, so
the saved config.toml says what ran.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from wsdiag.agents import ActorCritic
from wsdiag.config import Config, build_section, choice, install_mitigation_schema
from wsdiag.core import Callback
from wsdiag.errors import WsdiagError
from wsdiag.mitigations import (
    adaptive_bc,
    bc_penalty,
    ccl_bc,
    ccl_pqd,
    critic_bc,
    critic_weighted,
    grad_clip,
    gradient_penalty,
    jsrl,
    jsrl_random,
    lr_scale,
    pqd,
    td3bc_pp,
)
from wsdiag.mitigations.base import Mitigation, MitigationContext


@dataclasses.dataclass(frozen=True)
class NoParams:
    """`none` has no parameters."""


NONE = Mitigation("none", NoParams, lambda ctx, p: [])
MITIGATIONS: dict[str, Mitigation] = {
    m.name: m
    for m in (
        NONE,
        bc_penalty.MITIGATION,
        pqd.MITIGATION,
        ccl_pqd.MITIGATION,
        ccl_bc.MITIGATION,
        grad_clip.MITIGATION,
        lr_scale.MITIGATION,
        critic_bc.MITIGATION,
        gradient_penalty.MITIGATION,
        critic_weighted.MITIGATION,
        td3bc_pp.MITIGATION,
        adaptive_bc.MITIGATION,
        jsrl.MITIGATION,
        jsrl_random.MITIGATION,
    )
}
# Names that moved: a config that still uses one gets told where it went.
MOVED = {"bcq": "online BCQ is an agent now: set finetune.algo = 'bcq' (and mitigation 'none')"}
# What configs saved by earlier versions hold that means nothing now: every table was written
# with its defaults, so (table, key, value) entries and whole moved tables of a mitigation that
# did not run are dropped when such a config is read again (a resume, a report).
LEGACY_DEFAULTS = {("bc_penalty", "controller", "fixed")}
CCL_BC_MOVED = "CCL-BC is its own mitigation now: mitigation.name = 'ccl_bc', [mitigation.ccl_bc]"


def params_of(config: Config, name: str | None = None) -> Any:
    """The typed parameters of mitigation `name` (default: the selected one), checked."""
    name = name or config.mitigation.name
    mitigation = MITIGATIONS[name]
    table = config.mitigation.tables.get(name, {})
    params = build_section(mitigation.params, table, f"mitigation.{name}")
    mitigation.check(params)
    return params


class Schema:
    """wsdiag.config's view of the registry (config.MitigationSchema)."""

    def names(self) -> tuple[str, ...]:
        return tuple(MITIGATIONS)

    def resolve(self, config: Config) -> dict[str, dict[str, Any]]:
        name = config.mitigation.name
        if name in MOVED:
            raise WsdiagError(f"mitigation.name = '{name}': {MOVED[name]}")
        choice(name, self.names(), "mitigation.name")
        config = _without_legacy(config)
        tables = {}
        for key in sorted(set(config.mitigation.tables) | ({name} - {"none"})):
            if key in MOVED:
                raise WsdiagError(f"[mitigation.{key}]: {MOVED[key]}")
            if key not in MITIGATIONS or key == "none":
                close = difflib.get_close_matches(key, self.names()[1:], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise WsdiagError(f"unknown mitigation table [mitigation.{key}]{hint}")
            params = dataclasses.asdict(params_of(config, key))
            tables[key] = {k: v for k, v in params.items() if v is not None}  # TOML has no null
        MITIGATIONS[name].requires(config)
        return tables


def _without_legacy(config: Config) -> Config:
    """`config` without what earlier versions wrote by default (LEGACY_DEFAULTS, the tables of
    moved mitigations that were not selected)."""
    tables = {}
    for table, values in config.mitigation.tables.items():
        if table in MOVED:
            continue  # its name is refused above when it is the selected one
        kept = {k: v for k, v in values.items() if (table, k, v) not in LEGACY_DEFAULTS}
        if table == "bc_penalty" and kept.get("controller") == "confidence":
            raise WsdiagError(f"[mitigation.bc_penalty] controller = 'confidence': {CCL_BC_MOVED}")
        tables[table] = kept
    return dataclasses.replace(
        config, mitigation=dataclasses.replace(config.mitigation, tables=tables)
    )


SCHEMA = Schema()
install_mitigation_schema(SCHEMA)


def apply_mitigation(ctx: MitigationContext) -> list[Callback]:
    """Install the configured mitigation on ctx.agent; return its callbacks."""
    name = ctx.config.mitigation.name
    return MITIGATIONS[name].install(ctx, params_of(ctx.config))


def apply_to_pretraining(agent: ActorCritic, config: Config) -> bool:
    """Install the configured mitigation's pretraining part, if it has one; True if it did."""
    mitigation = MITIGATIONS[config.mitigation.name]
    if mitigation.pretrain is None:
        return False
    mitigation.pretrain(agent, params_of(config))
    return True
