"""The warm-start protocol: pretrain, warm start, fine-tune; every step recorded and resumable.

Stage 1 (pretrain) yields the pretrained agent: an online RL run stopped at a target return or a
step budget, or offline training on a Minari dataset, saved as `checkpoints/pretrained` (a
reusable artefact); or an existing checkpoint named by `pretrain.path`. Stage 2 (online) builds
a *new* agent, copies the parts named in `warmstart.load` (and keeps the offline data that
`warmstart.offline_data` retains), evaluates the pretrained policy (the baseline), then runs the
phases warmup -> freeze -> finetune. Both stages reseed torch at their start (seed, seed + 1), so a
fine-tuning run from a saved pretrained checkpoint equals the one that follows in-process
pretraining.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from wsdiag.agents import ActorCritic, make_agent
from wsdiag.config import AgentConfig, Config, load_config, to_dict
from wsdiag.data.buffer import SOURCE_OFFLINE, SOURCE_PRETRAIN, MixedReplay, ReplayBuffer
from wsdiag.data.minari_io import require_local
from wsdiag.data.offline import OfflineData, load_offline_data, retained
from wsdiag.envs import make_env, space_dims
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.registry import (
    MitigationContext,
    apply_mitigation,
    apply_to_pretraining,
    prepare_agent,
)
from wsdiag.probes.probe_set import ProbeSet, collect_rollouts
from wsdiag.training.callbacks import Callback, Checkpointer, Evaluator, PhaseEvents, TrainLogger
from wsdiag.training.checkpoint import (
    PRETRAINED,
    Checkpoint,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
)
from wsdiag.training.loop import Loop, LoopState, Phase
from wsdiag.training.probe_runner import PROBE_SET_FILE, ProbeRunner
from wsdiag.training.progress import QuietProgress, RichProgress
from wsdiag.training.recorder import ONLINE_PHASES, PRETRAIN_PHASES, Recorder
from wsdiag.training.run_dir import CONFIG_FILE, create_run_dir, resolve_device
from wsdiag.versions import git_sha

PRETRAIN, ONLINE = "pretrain", "online"
EVAL_SEED_OFFSET = 10_000  # evaluation episodes start from reset(seed + 10_000 + k)
PROBE_SEED_OFFSET = 20_000  # the behavioural probe set's rollouts, and the probes' draws
PROGRESS_MODES = ("bar", "quiet", "none")


class Experiment:
    """One run directory and the protocol that fills it."""

    def __init__(
        self,
        config: Config,
        run_dir: Path,
        progress: str = "bar",
        console: Console | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        """Extra `callbacks` join each stage's loop after the built-in ones, before checkpoints."""
        self.config, self.run_dir = config, Path(run_dir)
        self.extra_callbacks = list(callbacks)
        self.progress, self.console = progress, console or Console(stderr=True)
        self.device = resolve_device(config.device)
        self.env = make_env(config.env.id, config.env.max_episode_steps)
        self.eval_env = make_env(config.env.id, config.env.max_episode_steps)
        self.spare_env = make_env(config.env.id, config.env.max_episode_steps)  # rollouts, guides
        self.obs_dim, self.act_dim = space_dims(self.env)
        self.recorder = Recorder(self.run_dir)
        self.checkpoints = self.run_dir / "checkpoints"
        self._open: list[Callback] = []
        if config.pretrain.source == "checkpoint":  # fail now, not after the run has started
            load_checkpoint(config.pretrain.path).make_agent(self.obs_dim, self.act_dim)
        if config.pretrain.source == "offline":
            require_local(config.pretrain.dataset)

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(cls, config: Config, out: Path, **kwargs: Any) -> Experiment:
        """A new run directory holding the resolved config and provenance."""
        from wsdiag.envs import check_env_id

        check_env_id(config.env.id)  # fail before creating anything
        run_dir = create_run_dir(out, config)
        try:
            exp = cls(config, run_dir, **kwargs)
        except WsdiagError:
            shutil.rmtree(run_dir)
            raise
        exp.recorder.event("start", run=run_dir.name)
        return exp

    @classmethod
    def resume(cls, run_dir: Path, **kwargs: Any) -> Experiment:
        """Reopen a run directory made by `create`."""
        run_dir = Path(run_dir)
        if not (run_dir / CONFIG_FILE).is_file():
            raise WsdiagError(f"not a wsdiag run directory (no config.toml): {run_dir}")
        return cls(load_config(run_dir / CONFIG_FILE), run_dir, **kwargs)

    # ------------------------------------------------------------------ the protocol

    def run(self, until: str | None = None) -> Path:
        """Run (or continue) the protocol; `until="pretrain"` stops after stage 1."""
        if self.config.threads > 0:
            torch.set_num_threads(self.config.threads)
        latest = latest_checkpoint(self.run_dir)
        ckpt = load_checkpoint(latest) if latest else None
        if ckpt is not None:
            self.recorder.event("resume", checkpoint=ckpt.path.name, step=ckpt.loop_state["step"])
        try:
            pretrained, source = self._pretrained(ckpt)
            if until == PRETRAIN:
                return self.run_dir
            resume = ckpt if ckpt is not None and ckpt.meta["stage"] == ONLINE else None
            if resume is not None and resume.meta.get("done"):
                self.console.print(f"run already complete: {self.run_dir}")
                return self.run_dir
            self._online(pretrained, source, resume)
            self.recorder.event("end")
        except KeyboardInterrupt:
            self.recorder.event("interrupted")
            raise
        finally:
            for cb in self._open:
                cb.close()
            self.recorder.flush()
        return self.run_dir

    def _pretrained(self, ckpt: Checkpoint | None) -> tuple[ActorCritic, Checkpoint]:
        cfg = self.config.pretrain
        if cfg.source == "checkpoint":
            source = load_checkpoint(cfg.path)
            self.recorder.event(
                "pretrained_loaded", path=str(source.path), algo=source.meta["algo"]
            )
        elif (self.checkpoints / PRETRAINED).exists():
            source = load_checkpoint(self.checkpoints / PRETRAINED)
        else:
            resume = ckpt if ckpt is not None and ckpt.meta["stage"] == PRETRAIN else None
            self._pretrain(resume)
            source = load_checkpoint(self.checkpoints / PRETRAINED)
        return source.make_agent(self.obs_dim, self.act_dim, self.device), source

    @cached_property
    def offline_data(self) -> OfflineData | None:
        """The pretraining dataset (source = offline), in the agents' units."""
        cfg = self.config.pretrain
        if cfg.source != "offline":
            return None
        return load_offline_data(cfg.dataset, self.env, cfg.gamma)

    def _pretrain(self, resume: Checkpoint | None) -> None:
        cfg, seed = self.config.pretrain, self.config.seed
        torch.manual_seed(seed)
        agent = make_agent(cfg, self.obs_dim, self.act_dim, self.device)
        if apply_to_pretraining(agent, self.config):
            self.recorder.event("mitigation", stage=PRETRAIN, name=self.config.mitigation.name)
        data = self.offline_data
        if data is None:
            buffer = ReplayBuffer(cfg.buffer_size, self.obs_dim, self.act_dim, seed, self.device)
            phases = [
                Phase(PRETRAIN, 0, min(cfg.learning_starts, cfg.steps), "random", False, False),
                Phase(PRETRAIN, cfg.learning_starts, cfg.steps, "agent", True, True),
            ]
        else:
            buffer = data.to_buffer(seed, self.device)
            phases = [Phase(PRETRAIN, 0, cfg.steps, "none", True, True)]
            self.recorder.event("dataset_loaded", dataset=data.dataset_id, transitions=len(data))
        state = self._restore(resume, agent, buffer, PRETRAIN_PHASES)
        loop = self._loop(
            PRETRAIN, agent, buffer, phases, cfg, seed, state, target_return=cfg.target_return
        )
        state = loop.run()
        prune_checkpoints(self.checkpoints, "pretrain_step_", keep=0)
        self.recorder.event(
            "pretrain_end",
            step=state.step,
            reason=state.stop_reason or "step_budget",
            eval_return=state.last_eval,
        )

    def _online(
        self, pretrained: ActorCritic, source: Checkpoint, resume: Checkpoint | None
    ) -> None:
        cfg, ws, seed = self.config.finetune, self.config.warmstart, self.config.seed + 1
        torch.manual_seed(seed)
        agent = make_agent(cfg, self.obs_dim, self.act_dim, self.device)
        data = self.offline_data
        kept = retained(data, ws, seed) if data is not None else None
        mixed = kept is not None and ws.offline_ratio is not None
        extra = len(kept) if kept is not None and not mixed else 0
        online = ReplayBuffer(
            cfg.buffer_size + extra, self.obs_dim, self.act_dim, seed, self.device
        )
        buffer = MixedReplay(online, kept.to_buffer(seed), ws.offline_ratio) if mixed else online
        if resume is None:
            self._warm_start(agent, online, pretrained, source, None if mixed else kept)
        prepare_agent(agent, self.config.mitigation)  # structural changes (BCQ's actor)
        state = self._restore(resume, agent, online, ONLINE_PHASES)
        w_end = ws.warmup_steps
        f_end = w_end + ws.freeze_policy_steps
        warmup_actor = "random" if ws.warmup_policy == "random" else "pretrained"
        phases = [
            Phase("warmup", 0, w_end, warmup_actor, ws.train_critic_during_warmup, False),
            Phase("freeze", w_end, f_end, "agent", True, False),
            Phase("finetune", f_end, cfg.steps, "agent", True, True),
        ]
        behaviour = self._behaviour_set(pretrained)
        context = MitigationContext(
            agent, pretrained, self.config, self.spare_env, behaviour, self.config.seed
        )
        mitigation = apply_mitigation(context)
        loop = self._loop(
            ONLINE,
            agent,
            buffer,
            phases,
            cfg,
            seed,
            state,
            pretrained,
            behaviour=behaviour,
            mitigation=mitigation,
        )
        loop.run()

    def _behaviour_set(self, pretrained: ActorCritic) -> ProbeSet:
        """Behavioural states and actions of the run, fixed once and saved: a uniform sample of
        the dataset, or deterministic rollouts of the pretrained policy."""
        path = self.run_dir / "probes" / PROBE_SET_FILE
        if path.exists():
            return ProbeSet.load(path)
        n, seed = self.config.probes.states, self.config.seed + PROBE_SEED_OFFSET
        data = self.offline_data
        if data is not None:
            probe_set = data.probe_set(n, seed)
        else:
            probe_set = collect_rollouts(self.spare_env, pretrained, n, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        probe_set.save(path)
        return probe_set

    def _warm_start(
        self,
        agent: ActorCritic,
        buffer: ReplayBuffer,
        pretrained: ActorCritic,
        source: Checkpoint,
        offline: OfflineData | None,
    ) -> None:
        """Copy the parts asked for; seed the buffer with pretraining or retained offline data."""
        ws = self.config.warmstart
        parts = [p for p in ws.load if p != "buffer"]
        loaded = agent.warm_start(pretrained, parts, optimizers=ws.load_optimizers)
        if "buffer" in ws.load:
            if source.buffer_path is None:
                raise WsdiagError(
                    f"warmstart.load has 'buffer' but {source.path} holds no buffer "
                    "(pretrain with checkpoint.save_buffer = true)"
                )
            buffer.load(source.buffer_path, restore_rng=False, source=SOURCE_PRETRAIN)
            loaded.append("buffer")
        if offline is not None:
            buffer.add_many(offline.arrays | {"source": np.full(len(offline), SOURCE_OFFLINE)})
        details = {}
        if self.offline_data is not None:
            details = {"offline_data": ws.offline_data, "offline_ratio": ws.offline_ratio}
        self.recorder.event(
            "warm_start",
            source=str(source.path),
            source_algo=pretrained.algo,
            algo=agent.algo,
            loaded=loaded,
            transitions=len(buffer),
            **details,
        )

    def _restore(
        self,
        ckpt: Checkpoint | None,
        agent: ActorCritic,
        buffer: ReplayBuffer,
        phases: tuple[str, ...],
    ) -> LoopState | None:
        """Load a checkpoint of this stage into the fresh objects and drop later metric rows."""
        if ckpt is None:
            self.recorder.truncate(phases, -1)
            return None
        agent.load_state_dict(ckpt.agent_state)
        torch.set_rng_state(ckpt.agent_state["torch_rng"])
        if ckpt.buffer_path is not None:
            buffer.load(ckpt.buffer_path)
        elif len(buffer) == 0:
            self.console.print("[yellow]checkpoint has no buffer: resuming with an empty one")
        state = LoopState(**ckpt.loop_state)
        self.recorder.truncate(phases, state.step)
        return state

    def _loop(
        self,
        stage: str,
        agent: ActorCritic,
        buffer: ReplayBuffer | MixedReplay,
        phases: list[Phase],
        cfg: AgentConfig,
        seed: int,
        state: LoopState | None,
        pretrained: ActorCritic | None = None,
        target_return: float | None = None,
        behaviour: ProbeSet | None = None,
        mitigation: Sequence[Callback] = (),
    ) -> Loop:
        """A loop with the standard callbacks: events, logging, evaluation, probes, progress,
        the user's callbacks and, last, checkpoints (they flush what the others logged)."""
        ck, ev, data = self.config.checkpoint, self.config.eval, self.offline_data
        evaluator = Evaluator(
            self.eval_env,
            ev.every,
            ev.episodes,
            self.config.seed + EVAL_SEED_OFFSET,
            baseline=stage == ONLINE,
            target_return=target_return,
            ref_scores=data.ref_scores if data is not None else None,
        )
        callbacks = [PhaseEvents(), TrainLogger(self.config.log.train_every), evaluator]
        if stage == ONLINE and self.config.probes.every > 0:
            probe_seed = self.config.seed + PROBE_SEED_OFFSET
            callbacks.append(ProbeRunner(self.config.probes, behaviour, probe_seed))
        callbacks += [*mitigation, *self._progress_callbacks(), *self.extra_callbacks]
        callbacks.append(
            Checkpointer(
                self.checkpoints,
                "pretrain_step_" if stage == PRETRAIN else "step_",
                ck.every,
                ck.keep,
                ck.save_buffer and not (stage == PRETRAIN and data is not None),
                self._checkpoint_meta,
                final_name=PRETRAINED if stage == PRETRAIN else None,
            )
        )
        return Loop(
            stage=stage,
            env=self.env,
            agent=agent,
            buffer=buffer,
            recorder=self.recorder,
            phases=phases,
            utd=cfg.utd,
            batch_size=cfg.batch_size,
            seed=seed,
            callbacks=callbacks,
            pretrained=pretrained,
            state=state,
        )

    def _progress_callbacks(self) -> list[Callback]:
        if self.progress == "bar":
            cb: Callback = RichProgress(self.console)
        elif self.progress == "quiet":
            cb = QuietProgress(self.console, self.config.eval.every)
        else:
            return []
        self._open.append(cb)
        return [cb]

    def _checkpoint_meta(self, loop: Loop) -> dict[str, Any]:
        return {
            "stage": loop.stage,
            "step": loop.step,
            "phase": loop.phase.name,
            "done": loop.done,
            "env_id": self.config.env.id,
            "run": self.run_dir.name,
            "seed": self.config.seed,
            "git_sha": git_sha(),
            "config": to_dict(self.config),
        }
