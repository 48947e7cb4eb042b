"""Experiment configuration: one frozen dataclass per TOML section, read once, checked, resolved.

A config file is TOML; `docs/config.md` lists every field. The package keeps one job per module:

    schema.py      the section dataclasses and the constants they are checked against
    algorithms/    each algorithm's own keys (its `Params` and their check) and its defaults
    mitigations/   each mitigation's table [mitigation.<name>] (its `Params`, check, requires)
    parse.py       TOML tables to typed dataclasses and back (`build_section`, `to_dict`)
    overrides.py   reading TOML files and `--set section.key=value` overrides
    checks.py      ranges and cross-field rules (`validate`); memory.py: the memory they ask for
    load.py        `load_config` / `from_dict`: read, validate, resolve; `replace`, `dump_config`
"""

from wsdiag.config.algorithms import ALGORITHMS, Algorithm
from wsdiag.config.checks import check_agent_params, check_files, validate
from wsdiag.config.load import dump_config, from_dict, load_config, replace, resolve_agent
from wsdiag.config.memory import check_memory, network_parameters
from wsdiag.config.mitigations import TABLES
from wsdiag.config.overrides import apply_overrides, apply_values, check_depth, read_toml
from wsdiag.config.parse import agent_table, build_section, to_dict
from wsdiag.config.rules import at_least, choice, positive, within
from wsdiag.config.schema import (
    ACTOR_Q_CHOICES,
    BUFFER_ROW_BYTES,
    DEVICE_PATTERN,
    MAX_CONFIG_BYTES,
    MAX_EVAL_EPISODES,
    MAX_INT,
    MAX_SEED,
    MAX_THREADS,
    MAX_TOML_DEPTH,
    MODULE_PATTERN,
    NETWORK_COPIES,
    OFFLINE_DATA_MODES,
    PERTURB_BOUNDS,
    PRETRAIN_SOURCES,
    RESERVED_ENV_KWARGS,
    WARMSTART_PARTS,
    WARN_MODES,
    WSDIAG_TRAINER,
    AgentConfig,
    CheckpointConfig,
    Config,
    EnvConfig,
    EvalConfig,
    FinetuneConfig,
    LogConfig,
    MitigationConfig,
    OwnParams,
    PretrainConfig,
    ProbesConfig,
    WarmstartConfig,
)

__all__ = [
    "ACTOR_Q_CHOICES",
    "ALGORITHMS",
    "BUFFER_ROW_BYTES",
    "DEVICE_PATTERN",
    "MAX_CONFIG_BYTES",
    "MAX_EVAL_EPISODES",
    "MAX_INT",
    "MAX_SEED",
    "MAX_THREADS",
    "MAX_TOML_DEPTH",
    "MODULE_PATTERN",
    "NETWORK_COPIES",
    "OFFLINE_DATA_MODES",
    "PERTURB_BOUNDS",
    "PRETRAIN_SOURCES",
    "RESERVED_ENV_KWARGS",
    "TABLES",
    "WARMSTART_PARTS",
    "WARN_MODES",
    "WSDIAG_TRAINER",
    "AgentConfig",
    "Algorithm",
    "CheckpointConfig",
    "Config",
    "EnvConfig",
    "EvalConfig",
    "FinetuneConfig",
    "LogConfig",
    "MitigationConfig",
    "OwnParams",
    "PretrainConfig",
    "ProbesConfig",
    "WarmstartConfig",
    "agent_table",
    "apply_overrides",
    "apply_values",
    "at_least",
    "build_section",
    "check_agent_params",
    "check_depth",
    "check_files",
    "check_memory",
    "choice",
    "dump_config",
    "from_dict",
    "load_config",
    "network_parameters",
    "positive",
    "read_toml",
    "replace",
    "resolve_agent",
    "to_dict",
    "validate",
    "within",
]
