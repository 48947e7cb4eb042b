"""Experiment configuration: one frozen dataclass per TOML section, loading, overrides, dumping.

A config file is TOML. Every field below is documented where it is declared; `docs/config.md`
lists them all. Unknown keys are errors that name the closest known key. `--set section.key=value`
overrides are parsed as TOML values (so `--set finetune.hidden=[64,64]` works) and fall back to a
plain string.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from wsdiag.errors import WsdiagError
from wsdiag.mitigations.params import MITIGATION_NAMES, MitigationConfig

ALGOS = ("td3", "ddpg", "sac", "bc", "td3bc", "iql", "cql", "calql")
PRETRAIN_SOURCES = ("online", "offline", "checkpoint")
OFFLINE_DATA_MODES = ("all", "fraction", "none", "dataset_warmup")
WARMSTART_PARTS = ("actor", "critic", "buffer")
ACTOR_Q_CHOICES = ("auto", "first", "mean", "min")


@dataclass(frozen=True)
class EnvConfig:
    """[env] The Gymnasium environment."""

    id: str = "Pendulum-v1"  # any registered Gymnasium id with a Box action space
    max_episode_steps: int | None = None  # override the env's time limit (truncation)


@dataclass(frozen=True)
class AgentConfig:
    """Hyper-parameters of one off-policy agent; [pretrain] and [finetune] each hold a full set.

    Defaults are those of the algorithms' papers (TD3: Fujimoto et al. 2018; SAC: Haarnoja et
    al. 2018b), in the action space rescaled to [-1, 1].
    """

    algo: str = "td3"  # td3 | ddpg | sac | bc | td3bc | iql | cql | calql
    utd: int = 1  # gradient updates per environment step (update-to-data ratio)
    ensemble: int | None = None  # critics E in the batched ensemble (ddpg: 1, others: 2)
    target_subset: int | None = None  # M: TD target = min over a random M of E (min(2, E))
    layer_norm: bool = False  # LayerNorm after every hidden layer, in critic and actor
    hidden: tuple[int, ...] = (256, 256)  # hidden layer widths of actor and critic
    batch_size: int = 256
    gamma: float = 0.99  # discount
    tau: float = 0.005  # Polyak rate of the target networks
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    actor_q: str = "auto"  # critic(s) the actor maximises: first | mean | min | auto (see docs)
    policy_delay: int | None = None  # critic updates per actor update (td3/td3bc: 2, others: 1)
    expl_noise: float = 0.1  # td3/ddpg: std of Gaussian exploration noise
    policy_noise: float = 0.2  # td3: std of target policy smoothing noise
    noise_clip: float = 0.5  # td3: clip of target policy smoothing noise
    init_alpha: float = 1.0  # sac: initial entropy temperature
    autotune_alpha: bool = True  # sac: learn the temperature towards target_entropy
    target_entropy: float | None = None  # sac: default -dim(A)
    alpha_lr: float = 3e-4  # sac: learning rate of log(alpha)
    buffer_size: int = 1_000_000  # replay buffer capacity (transitions)
    # offline algorithms
    bc_alpha: float = 2.5  # td3bc: lambda = bc_alpha / mean|Q(s, pi(s))| (Fujimoto & Gu 2021)
    bc_reduce: str = "mean"  # bc/td3bc: (pi(s) - a)^2 averaged (authors' code) or summed over dims
    iql_expectile: float = 0.7  # iql: expectile tau of V(s) regressed on min Q'(s, a)
    iql_beta: float = 3.0  # iql: inverse temperature of the advantage weights exp(beta A)
    iql_max_weight: float = 100.0  # iql: clip of the advantage weights
    iql_atanh_eps: float = 1e-6  # iql: dataset actions clipped to +-(1 - eps) before atanh
    value_lr: float = 3e-4  # iql: learning rate of V(s)
    cql_alpha: float = 10.0  # cql/calql: weight of the conservative term (CORL, MuJoCo)
    cql_n_actions: int = 10  # cql/calql: sampled actions of each kind (uniform, pi(s), pi(s'))
    cql_temperature: float = 1.0  # cql/calql: temperature of the logsumexp
    cql_backup_entropy: bool = False  # cql/calql: add -alpha log pi(a'|s') to the TD target
    calql_bound_online: bool = False  # calql: also bound agent-collected rows by mc_return


@dataclass(frozen=True)
class PretrainConfig(AgentConfig):
    """[pretrain] Where the behavioural policy comes from."""

    source: str = "online"  # online (an RL run) | offline (a dataset) | checkpoint (a saved agent)
    path: str | None = None  # source = checkpoint: a run directory or a checkpoint directory
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


@dataclass(frozen=True)
class ProbesConfig:
    """[probes] Diagnostic probes of the online stage (definitions in docs/probes.md)."""

    every: int = 2_000  # environment steps between probe runs (and every phase boundary); 0: off
    states: int = 256  # behavioural probe-set size, and online transitions sampled per call
    n_perturb: int = 64  # perturbed actions per state for the Q-percentile
    sigma: float = 1.0  # perturbation half-width, in units of the action half-range
    landscape_states: int = 8  # states whose perturbed-action Q values are saved (figures)
    landscape_perturb: int = 500  # perturbed actions per landscape state
    drift_actions: int = 20  # actions per state (half pi_pre, half pi) for the Q-softmax KL
    divergence_q: float = 75.0  # percentile of ||pi(s) - a||^2 reported per label
    reduce: str = "mean"  # how a probe reduces the critic ensemble: mean | min


@dataclass(frozen=True)
class CheckpointConfig:
    """[checkpoint] Periodic checkpoints of the online stage (the pretrained one is always kept)."""

    every: int = 10_000  # environment steps between checkpoints; 0: only at the end
    keep: int = 2  # periodic checkpoints kept on disk (oldest removed first)
    save_buffer: bool = True  # store the replay buffer so that --resume continues exactly


@dataclass(frozen=True)
class LogConfig:
    """[log] How training scalars are aggregated."""

    train_every: int = 1_000  # environment steps per row of averaged `train/*` metrics


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
    if hint is bool:
        if not isinstance(value, bool):
            raise WsdiagError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise WsdiagError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WsdiagError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise WsdiagError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
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
            kwargs[key] = _build(hint, value, path)
        else:
            kwargs[key] = _coerce(value, hint, path)
    return cls(**kwargs)


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise WsdiagError(f"--set expects section.key=value, got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: typing.Sequence[str]) -> dict[str, Any]:
    """Return a copy of a raw config table with `section.key=value` overrides applied."""
    import copy

    data = copy.deepcopy(data)
    for text in overrides:
        keys, value = _parse_override(text)
        table = data
        for k in keys[:-1]:
            table = table.setdefault(k, {})
            if not isinstance(table, dict):
                raise WsdiagError(f"--set {text}: '{k}' is not a section")
        table[keys[-1]] = value
    return data


def from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a Config from a raw TOML table."""
    config = _build(Config, data, "")
    validate(config)
    return config


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> Config:
    """Load a TOML config file and apply `--set` overrides."""
    path = Path(path)
    if not path.is_file():
        raise WsdiagError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise WsdiagError(f"{path}: invalid TOML: {exc}") from exc
    return from_dict(apply_overrides(data, overrides))


def to_dict(config: Config) -> dict[str, Any]:
    """A TOML-ready table (None fields omitted, tuples as lists)."""

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if v is not None}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        return obj

    return clean(dataclasses.asdict(config))


def dump_config(config: Config) -> str:
    return tomli_w.dumps(to_dict(config))


def replace(config: Config, **sections: Any) -> Config:
    """`dataclasses.replace` for nested sections: replace(cfg, finetune={"steps": 10})."""
    changes = {}
    for name, value in sections.items():
        current = getattr(config, name)
        changes[name] = dataclasses.replace(current, **value) if isinstance(value, dict) else value
    new = dataclasses.replace(config, **changes)
    validate(new)
    return new


# ----------------------------------------------------------------------------- validation


def _choice(value: str, choices: typing.Sequence[str], where: str) -> None:
    if value not in choices:
        raise WsdiagError(
            f"{where} = '{value}' is not one of {', '.join(choices)}{_closest(value, choices)}"
        )


def _agent_checks(agent: AgentConfig, where: str) -> None:
    _choice(agent.algo, ALGOS, f"{where}.algo")
    _choice(agent.actor_q, ACTOR_Q_CHOICES, f"{where}.actor_q")
    positive = ("utd", "ensemble", "target_subset", "batch_size", "buffer_size", "policy_delay")
    for name in positive:
        value = getattr(agent, name)
        if value is not None and value < 1:
            raise WsdiagError(f"{where}.{name} must be >= 1")
    if agent.target_subset and agent.ensemble and agent.target_subset > agent.ensemble:
        raise WsdiagError(
            f"{where}.target_subset ({agent.target_subset}) exceeds {where}.ensemble "
            f"({agent.ensemble})"
        )
    if not agent.hidden or min(agent.hidden) < 1:
        raise WsdiagError(f"{where}.hidden must be a non-empty list of positive widths")
    if not 0.0 < agent.tau <= 1.0 or not 0.0 <= agent.gamma <= 1.0:
        raise WsdiagError(f"{where}: need 0 < tau <= 1 and 0 <= gamma <= 1")


def _offline_checks(config: Config) -> None:
    ws, offline = config.warmstart, config.pretrain.source == "offline"
    _choice(ws.offline_data, OFFLINE_DATA_MODES, "warmstart.offline_data")
    if offline and not config.pretrain.dataset:
        raise WsdiagError("pretrain.source = 'offline' needs pretrain.dataset (a Minari id)")
    if offline and "buffer" in ws.load:
        raise WsdiagError(
            "after offline pretraining the data is kept with warmstart.offline_data, not load"
        )
    if config.pretrain.source == "online" and config.pretrain.algo == "bc":
        raise WsdiagError("pretrain.algo = 'bc' needs data: use pretrain.source = 'offline'")
    if not 0.0 < ws.offline_fraction <= 1.0 or ws.offline_min_transitions < 0:
        raise WsdiagError("need 0 < warmstart.offline_fraction <= 1, offline_min_transitions >= 0")
    if ws.offline_ratio is not None and not 0.0 < ws.offline_ratio < 1.0:
        raise WsdiagError("warmstart.offline_ratio must be in (0, 1)")
    if ws.dataset_warmup_transitions < 1:
        raise WsdiagError("warmstart.dataset_warmup_transitions must be >= 1")


def validate(config: Config) -> None:
    """Cheap semantic checks; the environment id is checked when the env is made."""
    _agent_checks(config.pretrain, "pretrain")
    _agent_checks(config.finetune, "finetune")
    _choice(config.pretrain.source, PRETRAIN_SOURCES, "pretrain.source")
    if config.pretrain.source == "checkpoint" and not config.pretrain.path:
        raise WsdiagError("pretrain.source = 'checkpoint' needs pretrain.path")
    _offline_checks(config)
    _choice(config.warmstart.warmup_policy, ("pretrained", "random"), "warmstart.warmup_policy")
    _choice(config.mitigation.name, MITIGATION_NAMES, "mitigation.name")
    if config.pretrain.steps < 1 or config.finetune.steps < 1:
        raise WsdiagError("pretrain.steps and finetune.steps must be >= 1")
    for part in config.warmstart.load:
        _choice(part, WARMSTART_PARTS, "warmstart.load")
    ws = config.warmstart
    if ws.warmup_steps < 0 or ws.freeze_policy_steps < 0:
        raise WsdiagError("warmstart.warmup_steps and freeze_policy_steps must be >= 0")
    if ws.warmup_steps + ws.freeze_policy_steps > config.finetune.steps:
        raise WsdiagError(
            "warmstart.warmup_steps + freeze_policy_steps "
            f"({ws.warmup_steps + ws.freeze_policy_steps}) exceed finetune.steps "
            f"({config.finetune.steps}), which counts every online step"
        )
    if config.eval.every < 1 or config.eval.episodes < 1:
        raise WsdiagError("eval.every and eval.episodes must be >= 1")
    if config.log.train_every < 1:
        raise WsdiagError("log.train_every must be >= 1")
    _choice(config.probes.reduce, ("mean", "min"), "probes.reduce")
    pr = config.probes
    if pr.every < 0 or min(pr.states, pr.n_perturb, pr.landscape_perturb, pr.drift_actions) < 1:
        raise WsdiagError("probes: every must be >= 0 and the sample sizes >= 1")
    if not 0 <= pr.divergence_q <= 100 or pr.sigma <= 0:
        raise WsdiagError("probes: need 0 <= divergence_q <= 100 and sigma > 0")
    if config.threads < 0:
        raise WsdiagError("threads must be >= 0")
    if config.checkpoint.every < 0 or config.checkpoint.keep < 1:
        raise WsdiagError("checkpoint.every must be >= 0 and checkpoint.keep >= 1")
