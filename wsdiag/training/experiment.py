"""The warm-start protocol: pretrain, warm start, fine-tune; every step recorded and resumable.

Stage 1 (pretrain) yields the pretrained agent: an online RL run stopped at a target return or a
step budget, or offline training on a Minari dataset, saved as `checkpoints/pretrained` (a
reusable artefact); or an existing checkpoint named by `pretrain.path` (or a Stable-Baselines3
zip, imported: wsdiag.agents.sb3). Stage 2 (online) builds a *new* agent, copies the parts named
in `warmstart.load` (and keeps the offline data that `warmstart.offline_data` retains), evaluates
the pretrained policy (the baseline), then runs the phases warmup -> freeze -> finetune
(wsdiag.rundir). Both stages reseed torch at their start (seed, seed + 1), so a fine-tuning run
from a saved pretrained checkpoint equals the one that follows in-process pretraining.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from wsdiag.agents import ActorCritic, make_agent
from wsdiag.agents.checkpoint import Checkpoint, load_checkpoint
from wsdiag.analysis.evidence import WarmStart
from wsdiag.atomic import remove_temporaries
from wsdiag.config import WSDIAG_TRAINER, Config, check_memory, load_config, to_dict
from wsdiag.core import ONLINE, ONLINE_PHASES, PRETRAIN, PRETRAIN_PHASES, Callback, LoopState
from wsdiag.data.buffer import MixedReplay, ReplayBuffer
from wsdiag.data.offline import online_buffers
from wsdiag.envs import check_env, make_env, space_dims
from wsdiag.errors import WsdiagError
from wsdiag.mitigations import apply_mitigation, apply_to_pretraining, check_inputs
from wsdiag.mitigations.base import MitigationContext
from wsdiag.rundir import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    PRETRAINED,
    PROBE_SET_FILE,
    PROBES_DIR,
    is_complete,
    latest_checkpoint,
)
from wsdiag.training.assemble import PRETRAIN_PREFIX, checkpoint_meta, stage_loop
from wsdiag.training.checkpoint import prune_checkpoints, save_checkpoint
from wsdiag.training.loop import Loop
from wsdiag.training.new_run import (
    create_run_dir,
    device_name,
    outermost_missing,
    resolve_device,
)
from wsdiag.training.progress import progress_callback
from wsdiag.training.recorder import Recorder
from wsdiag.training.run_lock import RunLock
from wsdiag.training.sources import Sources, with_model_architecture
from wsdiag.training.warm_start import behaviour_set, restore, warm_start


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
        if config.trainer != WSDIAG_TRAINER:
            raise WsdiagError(
                f"this config records a run of the {config.trainer} trainer (trainer = "
                f"'{config.trainer}'); wsdiag trains only configs with trainer = 'wsdiag'"
            )
        check_inputs(config)  # the files the mitigation names (a guide's checkpoint) exist
        self.config, self.run_dir = config, Path(run_dir)
        self.lock = RunLock(self.run_dir)  # before anything reads the run's history
        for folder in (self.run_dir, self.run_dir / PROBES_DIR, self.run_dir / CHECKPOINTS_DIR):
            remove_temporaries(folder)  # what a kill midway through a write left
        self.user_callbacks = list(callbacks)
        self.console = console or Console(stderr=True)
        self.progress = progress_callback(progress, self.console, config.eval.every)
        self.device = resolve_device(config.device)
        env = config.env
        envs = [make_env(env.id, env.max_episode_steps, env.kwargs, env.imports) for _ in range(3)]
        self.env, self.eval_env, self.spare_env = envs  # spare: rollouts, guides
        self.obs_dim, self.act_dim = space_dims(self.env)
        check_memory(config, self.obs_dim, self.act_dim)
        self.recorder = Recorder(self.run_dir, tensorboard=config.log.tensorboard)
        self.checkpoints = self.run_dir / CHECKPOINTS_DIR
        if self.checkpoints.exists() and not self.checkpoints.is_dir():
            raise WsdiagError(f"{self.checkpoints} is a file; a run keeps its checkpoints there")
        self.created: Path | None = None  # what a failed start removes (set by `create`)
        self.sources = Sources(config, self.env)
        self.sources.check()

    @classmethod
    def create(
        cls, config: Config, out: Path, run_dir: Path | None = None, **kwargs: Any
    ) -> Experiment:
        """A new run directory (in `out`, or exactly `run_dir`): resolved config, provenance."""
        check_env(config.env.id, config.env.imports)  # fail before creating anything
        config, taken = with_model_architecture(config)  # an SB3 zip's, where left at defaults
        device = resolve_device(config.device)
        made = outermost_missing(Path(run_dir).parent if run_dir else Path(out))
        run_dir = create_run_dir(out, config, run_dir, device)
        try:
            exp = cls(config, run_dir, **kwargs)
        except WsdiagError:
            shutil.rmtree(made or run_dir)
            raise
        exp.created = made or run_dir  # a failed start then removes what it made
        exp.recorder.event("start", run=run_dir.name)
        if taken:
            exp.recorder.event("finetune_from_model", path=config.pretrain.path, fields=taken)
        return exp

    @classmethod
    def resume(cls, run_dir: Path, **kwargs: Any) -> Experiment:
        """Reopen a run directory made by `create`."""
        if not (Path(run_dir) / CONFIG_FILE).is_file():
            raise WsdiagError(f"not a wsdiag run directory (no {CONFIG_FILE}): {run_dir}")
        return cls(load_config(Path(run_dir) / CONFIG_FILE), Path(run_dir), **kwargs)

    # ------------------------------------------------------------------ the protocol

    def run(self, until: str | None = None) -> Path:
        """Run (or continue) the protocol; `until="pretrain"` stops after stage 1. A finished
        run is left unchanged (its `end` event added if a kill came right before it)."""
        if self.config.threads > 0:
            torch.set_num_threads(self.config.threads)
        latest = latest_checkpoint(self.run_dir)
        ckpt = load_checkpoint(latest) if latest else None
        if ckpt is not None and ckpt.stage == ONLINE and ckpt.meta.get("done"):
            if not is_complete(self.run_dir):
                self.recorder.event("end")
            self.console.print(f"run already complete: {self.run_dir}")
            self.lock.release()
            return self.run_dir
        if ckpt is not None:
            step, device = ckpt.loop_state["step"], device_name(self.device)
            self.recorder.event("resume", checkpoint=ckpt.path.name, step=step, device=device)
        try:
            pretrained, pretrained_ckpt = self._pretrained(ckpt)
            if until == PRETRAIN:
                return self.run_dir
            online = ckpt if ckpt and ckpt.stage == ONLINE else None
            state = self._online(pretrained, pretrained_ckpt, online)
            self.recorder.event("end", step=state.step, reason=state.stop_reason or "step_budget")
        except KeyboardInterrupt:
            self.recorder.event("interrupted")
            raise
        except WsdiagError as exc:  # bad input found before any checkpoint: leave nothing behind
            if self.created and exc.exit_code == 2 and latest_checkpoint(self.run_dir) is None:
                shutil.rmtree(self.created, ignore_errors=True)
            raise
        finally:
            self.progress.close()
            if self.run_dir.exists():
                self.recorder.flush()
            self.lock.release()
        return self.run_dir

    def _pretrained(self, ckpt: Checkpoint | None) -> tuple[ActorCritic, Checkpoint]:
        """The pretrained agent: loaded from `pretrain.path` (with source = offline, the dataset
        still supplies the retained data: how a sweep shares one), or this run, else trained."""
        cfg = self.config.pretrain
        if cfg.path:
            source = self.sources.given
            imported = {"sb3": source.meta["sb3"]} if cfg.source == "sb3" else {}
            self.recorder.event(
                "pretrained_loaded", path=str(source.path), algo=source.meta["algo"], **imported
            )
            if imported and not (self.checkpoints / PRETRAINED).exists():  # the run's reference
                self._keep_imported(source)
        elif (self.checkpoints / PRETRAINED).exists():
            source = load_checkpoint(self.checkpoints / PRETRAINED)
            if not any(e["event"] == "pretrain_end" for e in self.recorder.events):
                self._pretrain_end(
                    LoopState.from_json(source.loop_state)
                )  # a kill came right after it was saved
        else:
            self._pretrain(ckpt if ckpt is not None and ckpt.stage == PRETRAIN else None)
            source = load_checkpoint(self.checkpoints / PRETRAINED)
        return source.make_agent(self.obs_dim, self.act_dim, self.device), source

    def _keep_imported(self, source: Checkpoint) -> None:
        """An imported model (an SB3 zip) as checkpoints/pretrained, which the probes of the
        run's checkpoints take as their reference (`wsdiag probe --checkpoint`)."""
        agent = source.make_agent(self.obs_dim, self.act_dim, self.device)
        meta = {"stage": PRETRAIN, "step": 0, "env_id": self.config.env.id,
                "source": source.meta["source"], "imported_from": str(source.path),
                "config": to_dict(self.config)}  # fmt: skip
        save_checkpoint(self.checkpoints / PRETRAINED, agent, meta, {"step": 0})

    def _pretrain(self, resume: Checkpoint | None) -> None:
        cfg, seed, data = self.config.pretrain, self.config.seed, self.sources.offline_data
        torch.manual_seed(seed)
        agent = make_agent(cfg, self.obs_dim, self.act_dim, self.device)
        if apply_to_pretraining(agent, self.config):
            self.recorder.event("mitigation", stage=PRETRAIN, name=self.config.mitigation.name)
        if data is None:
            buffer = ReplayBuffer(cfg.buffer_size, self.obs_dim, self.act_dim, seed, self.device)
        else:
            buffer = data.to_buffer(seed, self.device)
            self.recorder.event("dataset_loaded", dataset=data.dataset_id, transitions=len(data))
            if cfg.normalize_obs:  # TD3+BC's; saved in the networks, so a resume keeps them
                agent.set_obs_stats(*data.obs_stats())
        state = restore(resume, agent, buffer, self.recorder, PRETRAIN_PHASES)
        state = self._loop(PRETRAIN, agent, buffer, state).run()
        prune_checkpoints(self.checkpoints, PRETRAIN_PREFIX, keep=0)
        self._pretrain_end(state)

    def _pretrain_end(self, state: LoopState) -> None:
        self.recorder.event("pretrain_end", step=state.step, eval_return=state.last_eval,
                            reason=state.stop_reason or "step_budget")  # fmt: skip

    def _online(
        self, pretrained: ActorCritic, pretrained_ckpt: Checkpoint, resume: Checkpoint | None
    ) -> LoopState:
        cfg, seed = self.config.finetune, self.config.seed + 1
        torch.manual_seed(seed)
        agent = make_agent(cfg, self.obs_dim, self.act_dim, self.device)
        ws, data = self.config.warmstart, self.sources.offline_data
        dims = (self.obs_dim, self.act_dim)
        buffers = online_buffers(cfg.buffer_size, *dims, ws, data, seed, self.device)
        if resume is None:
            event = warm_start(self.config, agent, buffers, pretrained, pretrained_ckpt)
            self.recorder.event("warm_start", **event)
        state = restore(resume, agent, buffers.store, self.recorder, ONLINE_PHASES)
        path = self.run_dir / PROBES_DIR / PROBE_SET_FILE
        behaviour = behaviour_set(path, self.config, data, self.spare_env, pretrained)
        context = MitigationContext(
            agent, pretrained, self.config, self.spare_env, behaviour, self.config.seed
        )
        mitigation = apply_mitigation(context)
        warm = WarmStart.of(self.config, algo=pretrained.algo)
        loop = self._loop(ONLINE, agent, buffers.sample, state, behaviour=behaviour,
                          mitigation=mitigation, pretrained=pretrained, warm=warm)  # fmt: skip
        return loop.run()

    def _loop(
        self,
        stage: str,
        agent: ActorCritic,
        buffer: ReplayBuffer | MixedReplay,
        state: LoopState | None,
        pretrained: ActorCritic | None = None,
        **callbacks: Any,
    ) -> Loop:
        """The stage's loop over its phases, with its callbacks (`callbacks`: behaviour and the
        mitigation's, online); the online loop's pretrained agent acts in the warm-up."""
        data = self.sources.offline_data
        return stage_loop(
            stage, self.config, self.env, agent, buffer, self.recorder, state,
            pretrained=pretrained, offline=data is not None, eval_env=self.eval_env,
            checkpoints=self.checkpoints,
            checkpoint_meta=checkpoint_meta(self.config, self.run_dir),
            ref_scores=data.ref_scores if data is not None else None,
            save_buffer=stage == ONLINE or data is None,
            observers=[self.progress, *self.user_callbacks], console=self.console, **callbacks,
        )  # fmt: skip
