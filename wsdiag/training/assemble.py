"""The callbacks of a stage, in one place and in their order: events, training logs,
evaluation, probes and the early warning (online stage), the mitigation's, progress, the user's
and, last, checkpoints (they flush what the others logged at the same step)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
from rich.console import Console

from wsdiag.agents import ActorCritic
from wsdiag.analysis.evidence import WarmStart
from wsdiag.config import Config, to_dict
from wsdiag.core import ONLINE, PRETRAIN, Callback, LoopState
from wsdiag.data.buffer import MixedReplay, ReplayBuffer
from wsdiag.data.probe_set import ProbeSet
from wsdiag.rundir import PRETRAINED, online_phases, pretrain_phases
from wsdiag.training.callbacks import Checkpointer, Evaluator, PhaseEvents, TrainLogger
from wsdiag.training.early_warning import EarlyWarning
from wsdiag.training.loop import Loop
from wsdiag.training.probe_runner import ProbeRunner
from wsdiag.training.recorder import Recorder
from wsdiag.training.warm_start import PROBE_SEED_OFFSET
from wsdiag.versions import git_sha

EVAL_SEED_OFFSET = 10_000  # evaluation episodes start from reset(seed + 10_000 + k)
PRETRAIN_PREFIX, ONLINE_PREFIX = "pretrain_step_", "step_"


def stage_callbacks(
    stage: str,
    config: Config,
    *,
    eval_env: gym.Env,
    checkpoints: Path,
    checkpoint_meta: Callable[[Any], dict[str, Any]],
    ref_scores: tuple[float, float] | None = None,
    save_buffer: bool = True,
    behaviour: ProbeSet | None = None,
    mitigation: Sequence[Callback] = (),
    observers: Sequence[Callback] = (),
    console: Console | None = None,
    warm: WarmStart | None = None,
) -> list[Callback]:
    """Every callback of one stage (see module docstring); `observers`: the progress display
    and the user's callbacks."""
    ev, ck = config.eval, config.checkpoint
    callbacks: list[Callback] = [
        PhaseEvents(),
        TrainLogger(config.log.train_every),
        Evaluator(
            eval_env,
            ev.every,
            ev.episodes,
            config.seed + EVAL_SEED_OFFSET,
            baseline=stage == ONLINE,
            target_return=config.pretrain.target_return if stage == PRETRAIN else None,
            ref_scores=ref_scores,
            stop_below=ev.stop_below if stage == ONLINE else None,
            stop_from=config.warmstart.warmup_steps,
        ),
    ]
    if stage == ONLINE and config.probes.every > 0 and behaviour is not None:
        probe_seed = config.seed + PROBE_SEED_OFFSET
        callbacks.append(ProbeRunner(config.probes, behaviour, probe_seed, eval_env))
    update_start = config.warmstart.warmup_steps + config.warmstart.freeze_policy_steps
    if stage == ONLINE and config.probes.warn != "off" and behaviour is not None:
        warm = warm or WarmStart.of(config)
        callbacks.append(EarlyWarning(config.probes, behaviour, update_start, warm, console))
    callbacks += [*mitigation, *observers]
    callbacks.append(
        Checkpointer(
            checkpoints,
            PRETRAIN_PREFIX if stage == PRETRAIN else ONLINE_PREFIX,
            ck.every,
            ck.keep,
            ck.save_buffer and save_buffer,
            checkpoint_meta,
            final_name=PRETRAINED if stage == PRETRAIN else None,
            branch_at=update_start if stage == ONLINE and update_start > 0 else None,
            episode_cap=eval_env.spec.max_episode_steps if eval_env.spec else None,
        )
    )
    return callbacks


def checkpoint_meta(config: Config, run_dir: Path) -> Callable[[Any], dict[str, Any]]:
    """What each checkpoint's meta.json says of the run, beside the agent's own fields."""

    def meta(loop: Any) -> dict[str, Any]:
        return {
            "stage": loop.stage,
            "step": loop.step,
            "phase": loop.phase.name,
            "done": loop.done,
            "env_id": config.env.id,
            "run": run_dir.name,
            "seed": config.seed,
            "git_sha": git_sha(),
            "config": to_dict(config),
        }

    return meta


def stage_loop(
    stage: str,
    config: Config,
    env: gym.Env,
    agent: ActorCritic,
    buffer: ReplayBuffer | MixedReplay,
    recorder: Recorder,
    state: LoopState | None,
    *,
    pretrained: ActorCritic | None = None,
    offline: bool = False,
    **callback_args: Any,
) -> Loop:
    """The stage's loop over its phases (an `offline` pretraining has no acting phase) with its
    callbacks (`stage_callbacks(stage, config, **callback_args)`)."""
    online = stage == ONLINE
    cfg = config.finetune if online else config.pretrain
    return Loop(
        stage=stage,
        env=env,
        agent=agent,
        buffer=buffer,
        recorder=recorder,
        phases=online_phases(config) if online else pretrain_phases(config, offline),
        utd=cfg.utd,
        batch_size=cfg.batch_size,
        seed=config.seed + int(online),
        callbacks=stage_callbacks(stage, config, **callback_args),
        pretrained=pretrained,
        state=state,
    )
