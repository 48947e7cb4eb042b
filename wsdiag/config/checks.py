"""Validation: each field's range and the cross-field rules, run when a config loads (the types
were checked when the tables were read). The environment id is checked against Gymnasium's
registry when a run is created."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from wsdiag.config.algorithms import ALGORITHMS
from wsdiag.config.memory import check_memory
from wsdiag.config.mitigations import TABLES
from wsdiag.config.rules import at_least, choice, key, positive, widths, within
from wsdiag.config.schema import (
    ACTOR_Q_CHOICES,
    DEVICE_PATTERN,
    MAX_EVAL_EPISODES,
    MAX_SEED,
    MAX_THREADS,
    MODULE_PATTERN,
    OFFLINE_DATA_MODES,
    PERTURB_BOUNDS,
    PRETRAIN_SOURCES,
    RESERVED_ENV_KWARGS,
    TRAINER_PATTERN,
    WARMSTART_PARTS,
    WARN_MODES,
    AgentConfig,
    Config,
    EnvConfig,
    WarmstartConfig,
)
from wsdiag.errors import WsdiagError


def validate(config: Config, mitigation: bool = True) -> None:
    """Every field's range, the cross-field rules and the memory its sizes ask for
    (`check_memory`, a lower bound without the environment); with `mitigation`, each
    [mitigation.<name>] table's check and what the selected mitigation requires."""
    _run_checks(config)
    _agent_checks(config.pretrain, "pretrain")
    _agent_checks(config.finetune, "finetune")
    _stage_checks(config)
    _offline_checks(config)
    _monitoring_checks(config)
    check_memory(config)
    if mitigation:
        _mitigation_checks(config)


def check_agent_params(agent: AgentConfig, where: str) -> None:
    """The algorithm's own keys: `params` (unset: the defaults) is its dataclass, in range."""
    spec = ALGORITHMS[agent.algo]
    if agent.params is None:
        return
    if type(agent.params) is not spec.params:
        raise WsdiagError(
            f"{key(where, 'params')}: {type(agent.params).__name__} are not the parameters of "
            f"algo '{agent.algo}'"
        )
    spec.check(agent.params, where)


def _agent_checks(agent: AgentConfig, where: str) -> None:
    choice(agent.algo, tuple(ALGORITHMS), f"{where}.algo")
    choice(agent.actor_q, ACTOR_Q_CHOICES, f"{where}.actor_q")
    choice(agent.actor_batch, ("last", "union"), f"{where}.actor_batch")
    if agent.actor_batch == "union" and agent.algo in ("bc", "iql"):
        raise WsdiagError(
            f"{where}.actor_batch = 'union' is for actor-critic updates, not {agent.algo}"
        )
    at_least(agent, where, 1, "utd", "ensemble", "target_subset", "batch_size", "buffer_size")
    at_least(agent, where, 1, "policy_delay")
    positive(agent, where, "actor_lr", "critic_lr", "alpha_lr", "init_alpha")
    at_least(agent, where, 0, "expl_noise", "policy_noise", "noise_clip")
    within(agent, where, "tau", 0.0, 1.0, open_low=True)
    within(agent, where, "gamma", 0.0, 1.0)
    ensemble = agent.ensemble or ALGORITHMS[agent.algo].ensemble
    if agent.target_subset and agent.target_subset > ensemble:
        unset = "" if agent.ensemble else f", {agent.algo}'s default"
        raise WsdiagError(
            f"{where}.target_subset ({agent.target_subset}) exceeds {where}.ensemble "
            f"({ensemble}{unset})"
        )
    widths(agent, where, "hidden")
    check_agent_params(agent, where)


def _mitigation_checks(config: Config) -> None:
    """Each table's check (a table for another mitigation is checked too, and has no effect);
    what the selected mitigation requires of the rest of the config."""
    for name, params in config.mitigation.tables.items():
        TABLES[name].check(params, f"mitigation.{name}")
    TABLES[config.mitigation.name].requires(config)


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
    _actor_kinds_match(config)
    within(ws, "warmstart", "offline_fraction", 0.0, 1.0, open_low=True)
    at_least(ws, "warmstart", 0, "offline_min_transitions")
    at_least(ws, "warmstart", 1, "dataset_warmup_transitions")
    if ws.offline_ratio is not None and not 0.0 < ws.offline_ratio < 1.0:
        raise WsdiagError(f"warmstart.offline_ratio must be in (0, 1), got {ws.offline_ratio}")


def _actor_kinds_match(config: Config) -> None:
    """An actor warm-starts only an actor of its kind (a deterministic one cannot start SAC's
    Gaussian one); checked where the config names the pretraining's algorithm."""
    pre, fine = config.pretrain, config.finetune
    if "actor" not in config.warmstart.load or pre.source not in ("online", "offline"):
        return
    given, wanted = ALGORITHMS[pre.algo].actor, ALGORITHMS[fine.algo].starts_from
    if given != wanted:
        raise WsdiagError(
            f"warmstart.load: the {pre.algo} actor ({given}) cannot start a {fine.algo} agent "
            f"(it starts from a {wanted} actor); fine-tune with an algorithm that starts from "
            f"a {given} one"
        )


def _run_checks(config: Config) -> None:
    if not config.name or any(c in config.name for c in "/\\\0") or config.name in (".", ".."):
        raise WsdiagError(f"name = {config.name!r} must be a non-empty file name (no slashes)")
    within(config, "", "seed", 0, MAX_SEED)
    within(config, "", "threads", 0, MAX_THREADS)
    if not DEVICE_PATTERN.fullmatch(config.device):
        raise WsdiagError(f"device = '{config.device}' is not one of cpu, cuda, cuda:N, mps, auto")
    if not TRAINER_PATTERN.fullmatch(config.trainer):
        raise WsdiagError(
            f"trainer = {config.trainer!r} must be a short lower-case name (wsdiag, sb3, ...)"
        )
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
    for name, value in env.kwargs.items():
        if name in RESERVED_ENV_KWARGS:
            raise WsdiagError(f"env.kwargs.{name}: set {RESERVED_ENV_KWARGS[name]} instead")
        if not _is_kwarg_value(value):
            raise WsdiagError(
                f"env.kwargs.{name}: expected a string, number, boolean or a list of them, "
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
    before = ws.warmup_steps + ws.freeze_policy_steps
    if before > config.finetune.steps:
        raise WsdiagError(
            f"warmstart.warmup_steps + freeze_policy_steps ({before}) exceed finetune.steps "
            f"({config.finetune.steps}), which counts every online step, the warm-up's too (as "
            f"SB3's learning_starts counts in total_timesteps): set finetune.steps above {before}"
            " or shorten the warm-up"
        )


def _monitoring_checks(config: Config) -> None:
    at_least(config.eval, "eval", 1, "every")
    within(config.eval, "eval", "episodes", 1, MAX_EVAL_EPISODES)
    at_least(config.log, "log", 1, "train_every")
    pr = config.probes
    choice(pr.reduce, ("mean", "min"), "probes.reduce")
    choice(pr.bounds, PERTURB_BOUNDS, "probes.bounds")
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
