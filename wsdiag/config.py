"""Experiment configuration: one frozen dataclass per TOML section, loading, overrides, dumping.

A config file is TOML. Every field below is documented where it is declared; `docs/config.md`
lists them all. Unknown keys are errors that name the closest known key. `--set section.key=value`
overrides are parsed as TOML values (so `--set finetune.hidden=[64,64]` works) and fall back to a
plain string.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import tomllib
import types
import typing
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import tomli_w

from wsdiag.errors import WsdiagError
from wsdiag.limits import check_allocation, mlp_parameters

ALGOS = ("td3", "ddpg", "sac", "bc", "td3bc", "iql", "cql", "calql", "bcq")
PRETRAIN_SOURCES = ("online", "offline", "checkpoint", "sb3")
OFFLINE_DATA_MODES = ("all", "fraction", "none", "dataset_warmup")
WARMSTART_PARTS = ("actor", "critic", "buffer")
ACTOR_Q_CHOICES = ("auto", "first", "mean", "min")
DEVICE_PATTERN = re.compile(r"cpu|auto|mps|cuda(:\d+)?")
MODULE_PATTERN = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
RESERVED_ENV_KWARGS = {"id": "env.id", "max_episode_steps": "env.max_episode_steps"}
# Bounds of the fields that no type or range implies (docs/config.md, "Bounds").
MAX_SEED = 2**31 - 1  # the code adds fixed offsets (at most 20_001) and episode counters to the
# seed: every seed it derives stays below 2**32, which numpy, torch and Gymnasium all accept
MAX_INT = 2**63 - 1  # every integer field: steps and counts are stored as int64
MAX_THREADS = 1024
MAX_EVAL_EPISODES = 10_000
MAX_TOML_DEPTH = 32  # nested tables and arrays in a config file or a --set value
MAX_CONFIG_BYTES = 1 << 20  # a config, an interventions table or a sweep file: 1 MiB at most
BUFFER_ROW_BYTES = 21  # per transition beside obs, next_obs and action: 4 float32 scalars, 1 int8
NETWORK_COPIES = 4  # each parameter is held as weights, target weights and Adam's two moments

# Each algorithm's own (policy_delay, actor_q for E <= 2, ensemble): TD3 (Fujimoto et al. 2018)
# updates the actor every 2 critic steps on Q_1; SAC and the offline algorithms every step on the
# min; DDPG has one critic. `ensemble`, `policy_delay`, `target_subset` and `actor_q` left unset
# in a config are resolved from this table when it loads (see `resolve_agent`).
ALGO_DEFAULTS: dict[str, tuple[int, str, int]] = {
    "td3": (2, "first", 2),
    "ddpg": (1, "first", 1),
    "sac": (1, "min", 2),
    "bc": (1, "first", 2),
    "td3bc": (2, "first", 2),
    "iql": (1, "min", 2),
    "cql": (1, "min", 2),
    "calql": (1, "min", 2),
    "bcq": (2, "first", 2),
}


@dataclass(frozen=True)
class EnvConfig:
    """[env] The Gymnasium environment."""

    id: str = "Pendulum-v1"  # any registered Gymnasium id with a Box action space
    max_episode_steps: int | None = None  # override the env's time limit (truncation)
    kwargs: dict[str, Any] = field(default_factory=dict)  # passed to gym.make: scalars, lists
    imports: tuple[str, ...] = ()  # modules imported before gym.make (they register envs; their
    # code runs: name only modules you trust), e.g. ["gymnasium_robotics"]


@dataclass(frozen=True)
class AgentConfig:
    """Hyper-parameters of one off-policy agent; [pretrain] and [finetune] each hold a full set.

    Defaults are those of the algorithms' papers (TD3: Fujimoto et al. 2018; SAC: Haarnoja et
    al. 2018b), in the action space rescaled to [-1, 1].
    """

    algo: str = "td3"  # td3 | ddpg | sac | bc | td3bc | iql | cql | calql
    utd: int = 1  # gradient updates per environment step (update-to-data ratio)
    ensemble: int | None = None  # critics E in the batched ensemble (unset: ddpg 1, others 2)
    target_subset: int | None = None  # M: TD target = min over a random M of E (unset: min(2, E))
    layer_norm: bool = False  # LayerNorm after every hidden layer, in critic and actor
    hidden: tuple[int, ...] = (256, 256)  # hidden layer widths of actor and critic
    batch_size: int = 256
    gamma: float = 0.99  # discount
    tau: float = 0.005  # Polyak rate of the target networks
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    actor_q: str = "auto"  # critic(s) the actor maximises: first | mean | min | auto (see docs)
    actor_batch: str = "last"  # the actor's batch when utd > 1: last critic batch | union (WSRL)
    policy_delay: int | None = None  # critic updates per actor update (unset: td3/td3bc/bcq 2,
    # others 1)
    expl_noise: float = 0.1  # td3/ddpg: std of Gaussian exploration noise
    policy_noise: float = 0.2  # td3: std of target policy smoothing noise
    noise_clip: float = 0.5  # td3: clip of target policy smoothing noise
    init_alpha: float = 1.0  # sac: initial entropy temperature
    autotune_alpha: bool = True  # sac: learn the temperature towards target_entropy
    backup_entropy: bool = True  # sac: -alpha log pi(a'|s') in the TD target (WSRL's code: false)
    target_entropy: float | None = None  # sac: default -dim(A)
    alpha_lr: float = 3e-4  # sac: learning rate of log(alpha)
    buffer_size: int = 1_000_000  # replay buffer capacity (transitions)
    # offline algorithms
    bc_alpha: float = 2.5  # td3bc: lambda = bc_alpha / mean|Q(s, pi(s))| (Fujimoto & Gu 2021)
    bc_reduce: str = "mean"  # bc/td3bc: (pi(s) - a)^2 averaged (authors' code) or summed over dims
    normalize_obs: bool | None = None  # [pretrain] on a dataset: standardise observations by its
    # mean and std (unset: td3bc true, as the authors' code, others false); fine-tuning agents
    # take the pretrained agent's statistics with the warm start
    iql_expectile: float = 0.7  # iql: expectile tau of V(s) regressed on min Q'(s, a)
    iql_beta: float = 3.0  # iql: inverse temperature of the advantage weights exp(beta A)
    iql_max_weight: float = 100.0  # iql: clip of the advantage weights
    iql_policy: str = "tanh_mean"  # iql: "tanh_mean" N(tanh mu, sigma) (authors' code) | "squashed"
    iql_atanh_eps: float = 1e-6  # iql, squashed: actions clipped to +-(1 - eps) before atanh
    value_lr: float = 3e-4  # iql: learning rate of V(s)
    cql_alpha: float = 10.0  # cql/calql: weight of the conservative term (CORL, MuJoCo)
    cql_n_actions: int = 10  # cql/calql: sampled actions of each kind (uniform, pi(s), pi(s'))
    cql_temperature: float = 1.0  # cql/calql: temperature of the logsumexp
    cql_backup_entropy: bool = False  # cql/calql: add -alpha log pi(a'|s') to the TD target
    calql_bound_online: bool = True  # calql: also bound agent-collected rows (authors' code)
    # online BCQ (Wexler et al. eq. 4): pi(s) = clip(pi_beta(s) + phi tanh(xi(s, pi_beta(s))))
    bcq_phi: float = 0.1  # bcq: |xi| <= phi, action half-range units (authors: 0.01 .. 1)
    bcq_hidden: tuple[int, ...] = (256, 256)  # bcq: widths of xi (authors: 256-256; BCQ 400-300)
    bcq_input: str = "state"  # bcq: xi(s) (authors' code) | state_action: xi(s, a_beta) (BCQ)
    bcq_init: str = "random"  # bcq: xi's last layer random (authors' code) | zero (pi = pi_beta)


@dataclass(frozen=True)
class PretrainConfig(AgentConfig):
    """[pretrain] Where the behavioural policy comes from."""

    source: str = "online"  # online (an RL run) | offline (a dataset) | checkpoint (a saved agent)
    # | sb3 (a Stable-Baselines3 model.save() zip: docs/train.md)
    path: str | None = None  # source = checkpoint: a run directory or a checkpoint directory;
    # source = sb3: the model's .zip
    dataset: str | None = None  # source = offline: a local Minari dataset id
    steps: int = 20_000  # online: environment-step budget; offline: gradient steps
    target_return: float | None = None  # online: stop once the evaluation mean reaches it
    learning_starts: int = 10_000  # online: uniform-random steps before the first update


@dataclass(frozen=True)
class WarmstartConfig:
    """[warmstart] What the new agent takes from the pretrained one; how online learning begins."""

    load: tuple[str, ...] = ("actor",)  # any of actor, critic, buffer
    load_optimizers: bool = False  # also load the Adam states of the loaded networks
    warmup_steps: int = 5_000  # steps with the frozen pretrained policy before policy updates
    train_critic_during_warmup: bool = True  # update the critic during the warm-up
    warmup_policy: str = "pretrained"  # who acts in the warm-up: pretrained | random (ablation)
    freeze_policy_steps: int = 0  # after warm-up: steps of critic-only updates on own rollouts
    offline_data: str = "all"  # after offline pretraining: all | fraction | none | dataset_warmup
    offline_fraction: float = 0.05  # fraction: share of the dataset kept (REDQ+AdaptiveBC: 5%)
    offline_min_transitions: int = 0  # fraction: keep at least this many (their code: 50,000)
    offline_ratio: float | None = None  # share of each batch drawn from the kept offline data
    dataset_warmup_transitions: int = 5_000  # dataset_warmup: random offline transitions seeded


@dataclass(frozen=True)
class FinetuneConfig(AgentConfig):
    """[finetune] The online agent; `steps` counts all online steps, warm-up and freeze included."""

    steps: int = 30_000


@dataclass(frozen=True)
class EvalConfig:
    """[eval] Deterministic-policy evaluation on a separate environment."""

    every: int = 2_000  # environment steps between evaluations (per stage)
    episodes: int = 5  # episodes per evaluation; episode k always starts from reset(seed + k)


WARN_MODES = ("update", "critic", "either", "both", "off")  # probes.warn (docs/diagnosis.md)


@dataclass(frozen=True)
class ProbesConfig:
    """[probes] Diagnostic probes of the online stage (definitions in docs/probes.md)."""

    every: int = 2_000  # environment steps between probe runs (and every phase boundary); 0: off
    states: int = 256  # behavioural probe-set size, and online transitions sampled per call
    n_perturb: int = 64  # perturbed actions per state for the Q-percentile
    sigma: float = 1.0  # perturbation half-width, in units of the action half-range
    bounds: str = "truncate"  # perturbations at the box: truncate | unclipped | clip (see docs)
    landscape_states: int = 8  # states whose perturbed-action Q values are saved (figures)
    landscape_perturb: int = 500  # perturbed actions per landscape state
    drift_actions: int = 20  # actions per state (half pi_pre, half pi) for the Q-softmax KL
    divergence_q: float = 75.0  # percentile of ||pi(s) - a||^2 reported per label
    reduce: str = "mean"  # how a probe reduces the critic ensemble: mean | min
    frozen_protocol_steps: int = 0  # actor steps of the paper's frozen-critic protocol (0: off)
    warn: str = "both"  # early warning: both | update | critic | either | off (docs/diagnosis.md)
    warn_every: int = 100  # steps between action-change checks once policy updates begin
    warn_rms: float = 0.2  # "collapse likely" once actions moved this far (per dim, half-ranges)
    stop_on_warning: bool = False  # halt the run at the warning, its checkpoint saved


@dataclass(frozen=True)
class CheckpointConfig:
    """[checkpoint] Periodic checkpoints of the online stage (the pretrained one is always kept)."""

    every: int = 10_000  # environment steps between checkpoints; 0: only at the end
    keep: int = 2  # periodic checkpoints kept on disk (oldest removed first)
    save_buffer: bool = True  # store the replay buffer so that --resume continues exactly


@dataclass(frozen=True)
class LogConfig:
    """[log] How training scalars are aggregated and where they are written."""

    train_every: int = 1_000  # environment steps per row of averaged `train/*` metrics
    tensorboard: bool = False  # also write TensorBoard event files into <run>/tensorboard/


@dataclass(frozen=True)
class MitigationConfig:
    """[mitigation] At most one mitigation per run; `none` is plain fine-tuning.

    Each mitigation's parameters are its own table, e.g. [mitigation] name = "ccl_pqd" with
    [mitigation.ccl_pqd] alpha_start = 1e-2. The tables are checked and completed with their
    defaults by the mitigation registry when the config loads (`install_mitigation_schema`);
    here they are plain TOML data. Definitions: docs/mitigations.md.
    """

    name: str = "none"  # which mitigation (see docs/mitigations.md)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # [mitigation.<name>]


@dataclass(frozen=True)
class Config:
    """A whole warm-start experiment."""

    name: str = "wsdiag-run"  # run name; the run directory is <out>/<name>-seed<seed>
    seed: int = 0
    device: str = "cpu"  # cpu | cuda | cuda:N | auto
    threads: int = 0  # torch intra-op threads; 0: torch's default (all cores)
    env: EnvConfig = field(default_factory=EnvConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    warmstart: WarmstartConfig = field(default_factory=WarmstartConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    probes: ProbesConfig = field(default_factory=ProbesConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    log: LogConfig = field(default_factory=LogConfig)
    mitigation: MitigationConfig = field(default_factory=MitigationConfig)


# ----------------------------------------------------------------------------- mitigation schema


class MitigationSchema(Protocol):
    """What the mitigation registry offers the config loader (installed by wsdiag.mitigations)."""

    def names(self) -> tuple[str, ...]:
        """Every mitigation name."""
        ...

    def resolve(self, config: Config) -> dict[str, dict[str, Any]]:
        """Check `config.mitigation` (its name, each table's fields, the selected mitigation's
        requirements on the rest of the config); return its tables completed with defaults."""
        ...


_schema: MitigationSchema | None = None


def install_mitigation_schema(schema: MitigationSchema) -> None:
    """Called once by wsdiag.mitigations: from then on every loaded config has its mitigation
    checked. Before that (a process that only reads run directories) the tables stay as read."""
    global _schema
    _schema = schema


# ----------------------------------------------------------------------------- construction


def _closest(name: str, choices: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


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


def build_section(cls: type, data: dict[str, Any], where: str) -> Any:
    """The dataclass `cls` from a TOML table: unknown keys and ill-typed values are errors that
    name the key (`where` is the table's dotted path)."""
    if cls is MitigationConfig:
        return _build_mitigation(data, where)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            raise WsdiagError(f"unknown config key '{path}'{_closest(key, names)}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise WsdiagError(f"{path}: expected a [{key}] table")
            kwargs[key] = build_section(hint, value, path)
        else:
            kwargs[key] = _coerce(value, hint, path)
    return cls(**kwargs)


def _build_mitigation(data: dict[str, Any], where: str) -> MitigationConfig:
    """[mitigation]: `name` and one table per mitigation; the registry checks the tables."""
    tables = {}
    for key, value in data.items():
        if key == "name":
            continue
        if not isinstance(value, dict):
            hint = _closest(key, ["name"])
            raise WsdiagError(
                f"{where}.{key}: expected a [{where}.{key}] table of parameters, or the key "
                f"'name'{hint}"
            )
        tables[key] = dict(value)
    return MitigationConfig(_coerce(data.get("name", "none"), str, f"{where}.name"), tables)


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


def from_dict(data: dict[str, Any], check_mitigation: bool = True) -> Config:
    """Build, validate and resolve a Config from a raw TOML table; `check_mitigation = False`
    keeps the mitigation tables as read and leaves the files it names unchecked (a report
    reading a run written by any version, wherever its inputs now are)."""
    return _resolved(build_section(Config, data, ""), check_mitigation)


def _resolved(config: Config, check_mitigation: bool = True) -> Config:
    validate(config)
    pre = resolve_agent(config.pretrain)
    if pre.normalize_obs is None:  # TD3+BC standardises a dataset's states (Fujimoto & Gu's code)
        on_dataset = config.pretrain.source == "offline"
        pre = dataclasses.replace(pre, normalize_obs=on_dataset and pre.algo == "td3bc")
    fine = dataclasses.replace(resolve_agent(config.finetune), normalize_obs=False)
    config = dataclasses.replace(config, pretrain=pre, finetune=fine)
    if check_mitigation:
        check_files(config)
    if _schema is not None and check_mitigation:
        tables = _schema.resolve(config)
        config = dataclasses.replace(
            config, mitigation=dataclasses.replace(config.mitigation, tables=tables)
        )
    return config


def load_config(
    path: str | Path, overrides: typing.Sequence[str] = (), check_mitigation: bool = True
) -> Config:
    """Load a TOML config file and apply `--set` overrides (see `from_dict`)."""
    return from_dict(apply_overrides(read_toml(path), overrides), check_mitigation)


def to_dict(config: Config) -> dict[str, Any]:
    """A TOML-ready table (tuples as lists; a field left None, such as an unset target return,
    is omitted; the mitigation's tables nested under [mitigation])."""

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if v is not None}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        return obj

    table = clean(dataclasses.asdict(config))
    mitigation = table["mitigation"]
    table["mitigation"] = {"name": mitigation["name"], **mitigation["tables"]}
    return table


def dump_config(config: Config) -> str:
    return tomli_w.dumps(to_dict(config))


def replace(config: Config, **sections: Any) -> Config:
    """`dataclasses.replace` for nested sections: replace(cfg, finetune={"steps": 10})."""
    changes = {}
    for name, value in sections.items():
        current = getattr(config, name)
        changes[name] = dataclasses.replace(current, **value) if isinstance(value, dict) else value
    return _resolved(dataclasses.replace(config, **changes))


def resolve_agent(cfg: AgentConfig) -> AgentConfig:
    """Fill `ensemble`, `policy_delay`, `target_subset` and `actor_q` from ALGO_DEFAULTS:
    actor_q = auto is the algorithm's own choice for E <= 2 and REDQ's mean over E > 2."""
    delay, actor_q, ensemble = ALGO_DEFAULTS[cfg.algo]
    ensemble = cfg.ensemble or ensemble
    if cfg.actor_q != "auto":
        actor_q = cfg.actor_q
    elif ensemble > 2:
        actor_q = "mean"
    return dataclasses.replace(
        cfg,
        ensemble=ensemble,
        policy_delay=cfg.policy_delay or delay,
        target_subset=cfg.target_subset or min(2, ensemble),
        actor_q=actor_q,
    )


# ----------------------------------------------------------------------------- validation


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def choice(value: str, choices: typing.Sequence[str], where: str) -> None:
    """`value` must be one of `choices` (the error names the closest)."""
    if value not in choices:
        raise WsdiagError(
            f"{where} = '{value}' is not one of {', '.join(choices)}{_closest(value, choices)}"
        )


def at_least(section: Any, where: str, low: float, *names: str) -> None:
    """Each named field (None: unset, skipped) must be >= low."""
    for name in names:
        value = getattr(section, name)
        if value is not None and value < low:
            raise WsdiagError(f"{_key(where, name)} must be >= {low:g}, got {value!r}")


def positive(section: Any, where: str, *names: str) -> None:
    """Each named field (None: unset, skipped) must be > 0."""
    for name in names:
        value = getattr(section, name)
        if value is not None and not value > 0:
            raise WsdiagError(f"{_key(where, name)} must be > 0, got {value!r}")


def within(section: Any, where: str, name: str, low: float, high: float, open_low=False) -> None:
    """low <= field <= high (low < field with open_low); None is skipped."""
    value = getattr(section, name)
    if value is None:
        return
    if not (low < value if open_low else low <= value) or not value <= high:
        bracket = "(" if open_low else "["
        raise WsdiagError(
            f"{_key(where, name)} must be in {bracket}{_number(low)}, {_number(high)}], "
            f"got {value!r}"
        )


def _number(value: float) -> str:
    """An integer bound in full (2147483647), a float one short (0.5, 1e-06)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _agent_checks(agent: AgentConfig, where: str) -> None:
    choice(agent.algo, ALGOS, f"{where}.algo")
    choice(agent.actor_q, ACTOR_Q_CHOICES, f"{where}.actor_q")
    choice(agent.bc_reduce, ("mean", "sum"), f"{where}.bc_reduce")
    choice(agent.actor_batch, ("last", "union"), f"{where}.actor_batch")
    choice(agent.bcq_input, ("state", "state_action"), f"{where}.bcq_input")
    choice(agent.bcq_init, ("random", "zero"), f"{where}.bcq_init")
    choice(agent.iql_policy, ("tanh_mean", "squashed"), f"{where}.iql_policy")
    if agent.actor_batch == "union" and agent.algo in ("bc", "iql"):
        raise WsdiagError(
            f"{where}.actor_batch = 'union' is for actor-critic updates, not {agent.algo}"
        )
    at_least(agent, where, 1, "utd", "ensemble", "target_subset", "batch_size", "buffer_size")
    at_least(agent, where, 1, "policy_delay", "cql_n_actions")
    positive(agent, where, "actor_lr", "critic_lr", "alpha_lr", "value_lr", "init_alpha")
    positive(agent, where, "iql_max_weight", "cql_temperature", "bcq_phi")
    at_least(agent, where, 0, "expl_noise", "policy_noise", "noise_clip", "bc_alpha")
    at_least(agent, where, 0, "iql_beta", "cql_alpha")
    within(agent, where, "tau", 0.0, 1.0, open_low=True)
    within(agent, where, "gamma", 0.0, 1.0)
    within(agent, where, "iql_expectile", 0.0, 1.0, open_low=True)
    within(agent, where, "iql_atanh_eps", 0.0, 0.5, open_low=True)
    ensemble = agent.ensemble or ALGO_DEFAULTS[agent.algo][2]
    if agent.target_subset and agent.target_subset > ensemble:
        unset = "" if agent.ensemble else f", {agent.algo}'s default"
        raise WsdiagError(
            f"{where}.target_subset ({agent.target_subset}) exceeds {where}.ensemble "
            f"({ensemble}{unset})"
        )
    for name in ("hidden", "bcq_hidden"):
        widths = getattr(agent, name)
        if not widths or min(widths) < 1:
            raise WsdiagError(f"{where}.{name} must be a non-empty list of positive widths")


def _sb3_checks(ws: WarmstartConfig) -> None:
    """An SB3 zip holds networks only: no replay buffer, no optimiser wsdiag maps."""
    if "buffer" in ws.load:
        raise WsdiagError(
            "warmstart.load has 'buffer' but an SB3 model.save() zip holds no replay buffer "
            "(pretrain.source = 'sb3' loads actor and critic)"
        )
    if ws.load_optimizers:
        raise WsdiagError(
            "warmstart.load_optimizers: pretrain.source = 'sb3' loads the networks only; "
            "set it to false"
        )


def check_files(config: Config) -> None:
    """The files a config names exist: an SB3 model's zip (its contents are read, without
    unpickling anything, when the run starts: wsdiag.agents.sb3)."""
    pre = config.pretrain
    if pre.source == "sb3" and pre.path:
        path = Path(pre.path)
        if not path.is_file():
            raise WsdiagError(f"pretrain.path: no SB3 model file at {path}")
        if not zipfile.is_zipfile(path):
            raise WsdiagError(
                f"pretrain.path: {path} is not a zip file (an SB3 model.save() archive)"
            )


def _offline_checks(config: Config) -> None:
    ws, offline = config.warmstart, config.pretrain.source == "offline"
    choice(ws.offline_data, OFFLINE_DATA_MODES, "warmstart.offline_data")
    if offline and not config.pretrain.dataset:
        raise WsdiagError("pretrain.source = 'offline' needs pretrain.dataset (a Minari id)")
    if offline and "buffer" in ws.load:
        raise WsdiagError(
            "after offline pretraining the data is kept with warmstart.offline_data, not load"
        )
    if config.pretrain.source == "online" and config.pretrain.algo == "bc":
        raise WsdiagError("pretrain.algo = 'bc' needs data: use pretrain.source = 'offline'")
    within(ws, "warmstart", "offline_fraction", 0.0, 1.0, open_low=True)
    at_least(ws, "warmstart", 0, "offline_min_transitions")
    at_least(ws, "warmstart", 1, "dataset_warmup_transitions")
    if ws.offline_ratio is not None and not 0.0 < ws.offline_ratio < 1.0:
        raise WsdiagError(f"warmstart.offline_ratio must be in (0, 1), got {ws.offline_ratio}")


def _run_checks(config: Config) -> None:
    if not config.name or any(c in config.name for c in "/\\\0") or config.name in (".", ".."):
        raise WsdiagError(f"name = {config.name!r} must be a non-empty file name (no slashes)")
    within(config, "", "seed", 0, MAX_SEED)
    within(config, "", "threads", 0, MAX_THREADS)
    if not DEVICE_PATTERN.fullmatch(config.device):
        raise WsdiagError(f"device = '{config.device}' is not one of cpu, cuda, cuda:N, mps, auto")
    _env_checks(config.env)


def _is_kwarg_value(value: Any) -> bool:
    """A scalar (string, number, boolean) or a list of such values (lists may nest)."""
    if isinstance(value, list | tuple):
        return all(_is_kwarg_value(v) for v in value)
    return isinstance(value, str | int | float | bool)


def _env_checks(env: EnvConfig) -> None:
    if not env.id:
        raise WsdiagError("env.id must name a Gymnasium environment")
    at_least(env, "env", 1, "max_episode_steps")
    for key, value in env.kwargs.items():
        if key in RESERVED_ENV_KWARGS:
            raise WsdiagError(f"env.kwargs.{key}: set {RESERVED_ENV_KWARGS[key]} instead")
        if not _is_kwarg_value(value):
            raise WsdiagError(
                f"env.kwargs.{key}: expected a string, number, boolean or a list of them, "
                f"got {value!r}"
            )
    for name in env.imports:
        if not MODULE_PATTERN.fullmatch(name):
            raise WsdiagError(f"env.imports: '{name}' is not a module name (such as a.b)")


def _stage_checks(config: Config) -> None:
    pre, ws = config.pretrain, config.warmstart
    choice(pre.source, PRETRAIN_SOURCES, "pretrain.source")
    if pre.source in ("checkpoint", "sb3") and not pre.path:
        raise WsdiagError(f"pretrain.source = '{pre.source}' needs pretrain.path")
    if pre.source == "sb3":
        _sb3_checks(ws)
    at_least(pre, "pretrain", 1, "steps")
    at_least(pre, "pretrain", 0, "learning_starts")
    at_least(config.finetune, "finetune", 1, "steps")
    if config.finetune.normalize_obs:
        raise WsdiagError(
            "finetune.normalize_obs: the fine-tuning agent takes the pretrained agent's "
            "observation statistics with the warm start; set pretrain.normalize_obs"
        )
    if pre.normalize_obs and pre.source == "online":
        raise WsdiagError("pretrain.normalize_obs needs a dataset (pretrain.source = 'offline')")
    if pre.algo == "bcq":
        raise WsdiagError("pretrain.algo = 'bcq' perturbs a pretrained policy: pretrain td3 first")
    if config.finetune.algo == "bcq" and "actor" not in ws.load:
        raise WsdiagError("finetune.algo = 'bcq' perturbs the warm-started actor: load 'actor'")
    for part in ws.load:
        choice(part, WARMSTART_PARTS, "warmstart.load")
    if len(set(ws.load)) != len(ws.load):
        raise WsdiagError(f"warmstart.load names a part twice: {list(ws.load)}")
    choice(ws.warmup_policy, ("pretrained", "random"), "warmstart.warmup_policy")
    at_least(ws, "warmstart", 0, "warmup_steps", "freeze_policy_steps")
    if ws.warmup_steps + ws.freeze_policy_steps > config.finetune.steps:
        raise WsdiagError(
            "warmstart.warmup_steps + freeze_policy_steps "
            f"({ws.warmup_steps + ws.freeze_policy_steps}) exceed finetune.steps "
            f"({config.finetune.steps}), which counts every online step"
        )


def _monitoring_checks(config: Config) -> None:
    at_least(config.eval, "eval", 1, "every")
    within(config.eval, "eval", "episodes", 1, MAX_EVAL_EPISODES)
    at_least(config.log, "log", 1, "train_every")
    pr = config.probes
    choice(pr.reduce, ("mean", "min"), "probes.reduce")
    choice(pr.bounds, ("truncate", "unclipped", "clip"), "probes.bounds")
    choice(pr.warn, WARN_MODES, "probes.warn")
    at_least(pr, "probes", 1, "warn_every")
    within(pr, "probes", "warn_rms", 0.0, 2.0, open_low=True)
    at_least(pr, "probes", 0, "every", "frozen_protocol_steps")
    at_least(pr, "probes", 1, "states", "n_perturb", "landscape_states", "landscape_perturb")
    at_least(pr, "probes", 2, "drift_actions")
    positive(pr, "probes", "sigma")
    within(pr, "probes", "divergence_q", 0.0, 100.0)
    at_least(config.checkpoint, "checkpoint", 0, "every")
    at_least(config.checkpoint, "checkpoint", 1, "keep")


# ----------------------------------------------------------------------------- memory


def network_parameters(agent: AgentConfig, obs_dim: int, act_dim: int) -> int:
    """About the parameters of an agent's networks: its actor (mean and log-std heads), its
    critic ensemble, IQL's value network and BCQ's perturbation network."""
    ensemble = agent.ensemble or ALGO_DEFAULTS[agent.algo][2]
    sizes = [[obs_dim, *agent.hidden, 2 * act_dim]]
    sizes += [[obs_dim + act_dim, *agent.hidden, 1]] * ensemble
    if agent.algo == "iql":
        sizes.append([obs_dim, *agent.hidden, 1])
    if agent.algo == "bcq":
        sizes.append([obs_dim + act_dim, *agent.bcq_hidden, act_dim])
    return sum(mlp_parameters(s) for s in sizes)


def _agent_memory(agent: AgentConfig, where: str, obs_dim: int, act_dim: int, buffer: bool) -> None:
    """The replay buffer (when the agent collects one), the networks and one update's
    activations of an agent must each fit in the machine's memory."""
    if buffer:
        row = 4 * (2 * obs_dim + act_dim) + BUFFER_ROW_BYTES
        check_allocation(
            f"{where}.buffer_size = {agent.buffer_size}: the replay buffer",
            agent.buffer_size * row,
        )
    params = network_parameters(agent, obs_dim, act_dim)
    check_allocation(
        f"{where}.hidden = {list(agent.hidden)}: the agent's networks (with their targets and "
        "Adam's moments)",
        NETWORK_COPIES * 4 * params,
    )
    ensemble = agent.ensemble or ALGO_DEFAULTS[agent.algo][2]
    rows = agent.batch_size * (1 + 3 * agent.cql_n_actions * (agent.algo in ("cql", "calql")))
    check_allocation(
        f"{where}.batch_size = {agent.batch_size}: one update's activations (and gradients)",
        2 * 4 * rows * ensemble * sum(agent.hidden),
    )


def check_memory(config: Config, obs_dim: int = 1, act_dim: int = 1) -> None:
    """Refuse sizes the machine's memory cannot hold (`wsdiag.limits.check_allocation`): the
    replay buffers, networks and update batches of both agents, the probes' perturbed actions.
    With the default dimensions (1, the fewest an environment has) it is a lower bound that
    needs no environment; with the environment's own it is the estimate of the run."""
    pre, probes = config.pretrain, config.probes
    if pre.source in ("online", "offline"):  # trained here; an online run collects a buffer
        _agent_memory(pre, "pretrain", obs_dim, act_dim, buffer=pre.source == "online")
    _agent_memory(config.finetune, "finetune", obs_dim, act_dim, buffer=True)
    per_action = 4 * (act_dim + 1)  # a float32 action and its value
    check_allocation(
        "probes.states: the behavioural probe set", probes.states * 4 * (obs_dim + act_dim)
    )
    for count, name in (("n_perturb", "Q-percentile"), ("drift_actions", "Q-softmax KL")):
        check_allocation(
            f"probes.states x probes.{count}: the {name}'s actions",
            probes.states * getattr(probes, count) * per_action,
        )
    check_allocation(
        "probes.landscape_states x probes.landscape_perturb: the landscape's actions",
        probes.landscape_states * probes.landscape_perturb * per_action,
    )


def validate(config: Config) -> None:
    """Every field's type was checked when it was read; here, its range, the cross-field rules
    and the memory its sizes ask for (`check_memory`, a lower bound without the environment).
    The environment id is checked against Gymnasium's registry when a run is created; the
    mitigation tables by the mitigation registry (`install_mitigation_schema`)."""
    _run_checks(config)
    _agent_checks(config.pretrain, "pretrain")
    _agent_checks(config.finetune, "finetune")
    _stage_checks(config)
    _offline_checks(config)
    _monitoring_checks(config)
    check_memory(config)
