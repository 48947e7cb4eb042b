"""A Config from a file or a table: read once, checked (`validate`), and resolved: the fields
left unset that depend on the algorithm filled in, so that the saved config.toml says what ran."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import tomli_w

from wsdiag.config.algorithms import ALGORITHMS, own_params
from wsdiag.config.checks import check_files, validate
from wsdiag.config.mitigations import TABLES
from wsdiag.config.overrides import apply_overrides, read_toml
from wsdiag.config.parse import build_section, to_dict
from wsdiag.config.schema import AgentConfig, Config, MitigationConfig


def from_dict(data: dict[str, Any], check_mitigation: bool = True) -> Config:
    """Build, validate and resolve a Config from a raw TOML table; `check_mitigation = False`
    reads the mitigation tables leniently, unchecked, and leaves the files the config names
    unchecked (a report reading a run written by any version, wherever its inputs now are)."""
    return _resolved(build_section(Config, data, "", check_mitigation), check_mitigation)


def load_config(
    path: str | Path, overrides: typing.Sequence[str] = (), check_mitigation: bool = True
) -> Config:
    """Load a TOML config file and apply `--set` overrides (see `from_dict`)."""
    return from_dict(apply_overrides(read_toml(path), overrides), check_mitigation)


def dump_config(config: Config) -> str:
    return tomli_w.dumps(to_dict(config))


def replace(config: Config, **sections: Any) -> Config:
    """`dataclasses.replace` for nested sections, checked and resolved again:
    replace(cfg, finetune={"steps": 10}); an agent section also takes its algorithm's keys
    (replace(cfg, pretrain={"algo": "iql", "iql_expectile": 0.8}))."""
    changes = {}
    for name, value in sections.items():
        current = getattr(config, name)
        if isinstance(current, AgentConfig) and isinstance(value, dict):
            changes[name] = _replace_agent(current, value)
        elif isinstance(value, dict):
            changes[name] = dataclasses.replace(current, **value)
        else:
            changes[name] = value
    return _resolved(dataclasses.replace(config, **changes))


def _replace_agent(agent: AgentConfig, values: dict[str, Any]) -> AgentConfig:
    """Fields set; another `algo` starts from its algorithm's defaults; the algorithm's keys
    replaced in `params`."""
    names = {f.name for f in dataclasses.fields(agent)}
    changed = dataclasses.replace(agent, **{k: v for k, v in values.items() if k in names})
    if changed.algo != agent.algo and "params" not in values:
        changed = dataclasses.replace(changed, params=None)
    own = {k: v for k, v in values.items() if k not in names}
    if own:
        params = dataclasses.replace(own_params(changed), **own)
        changed = dataclasses.replace(changed, params=params)
    return changed


def resolve_agent(cfg: AgentConfig) -> AgentConfig:
    """Fill `ensemble`, `policy_delay`, `target_subset`, `actor_q` and `params` from the
    algorithm's entry (`wsdiag.config.algorithms`): actor_q = auto is the algorithm's own
    choice for E <= 2 and REDQ's mean over E > 2; unset params are its defaults."""
    spec = ALGORITHMS[cfg.algo]
    ensemble = cfg.ensemble or spec.ensemble
    actor_q = spec.actor_q
    if cfg.actor_q != "auto":
        actor_q = cfg.actor_q
    elif ensemble > 2:
        actor_q = "mean"
    return dataclasses.replace(
        cfg,
        ensemble=ensemble,
        policy_delay=cfg.policy_delay or spec.policy_delay,
        target_subset=cfg.target_subset or min(2, ensemble),
        actor_q=actor_q,
        params=own_params(cfg),
    )


def _with_selected_table(mitigation: MitigationConfig) -> MitigationConfig:
    """The selected mitigation's table with its defaults when the config has none."""
    name = mitigation.name
    if name == "none" or name in mitigation.tables:
        return mitigation
    tables = dict(sorted({**mitigation.tables, name: TABLES[name].params()}.items()))
    return dataclasses.replace(mitigation, tables=tables)


def _resolved(config: Config, check_mitigation: bool = True) -> Config:
    validate(config, mitigation=check_mitigation)
    pre = resolve_agent(config.pretrain)
    if pre.normalize_obs is None:  # TD3+BC standardises a dataset's states (Fujimoto & Gu's code)
        on_dataset = config.pretrain.source == "offline"
        pre = dataclasses.replace(pre, normalize_obs=on_dataset and pre.algo == "td3bc")
    fine = dataclasses.replace(resolve_agent(config.finetune), normalize_obs=False)
    config = dataclasses.replace(config, pretrain=pre, finetune=fine)
    if check_mitigation:
        check_files(config)
        config = dataclasses.replace(config, mitigation=_with_selected_table(config.mitigation))
    return config
