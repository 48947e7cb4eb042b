"""Recording a training loop that wsdiag does not run into a standard run directory.

`Recording` drives wsdiag's own evaluation, probe and early-warning callbacks over a view of the
user's loop, so that a recorded run holds what `wsdiag train` writes (config.toml, meta.json,
metrics.parquet, events.jsonl, probes/) with the same keys and the same numbers for the same
networks, and `wsdiag report`, `diagnose` and `export` read it as they read wsdiag's runs.

The user calls `step(t)` after each environment step t = 1, 2, ... of the online stage, once the
updates that follow it are done (wsdiag's loop does the same: step, learn, then callbacks). The
online phases are the `Phases` the user declares: warm-up [0, policy_start) in which the
pretrained (or a random) policy acts, freeze [policy_start, update_start) with critic updates
only, fine-tuning [update_start, total_steps). A call that skips steps runs what fell due at the
skipped steps on the networks as they are at the call.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import tomli_w

from wsdiag.analysis.evidence import WarmStart
from wsdiag.config import Config, from_dict
from wsdiag.core import ONLINE, Callback, LoopState, Phase, StageClock
from wsdiag.data.probe_set import ProbeSet, collect_rollouts
from wsdiag.envs import make_env, space_dims
from wsdiag.errors import WsdiagError
from wsdiag.integrations.agent import CallableAgent
from wsdiag.rundir import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    META_FILE,
    PROBE_SET_FILE,
    PROBES_DIR,
    online_phases,
)
from wsdiag.training.assemble import EVAL_SEED_OFFSET, checkpoint_meta
from wsdiag.training.callbacks import Evaluator, PhaseEvents
from wsdiag.training.checkpoint import save_checkpoint
from wsdiag.training.early_warning import EarlyWarning
from wsdiag.training.new_run import create_run_dir, outermost_missing
from wsdiag.training.probe_runner import ProbeRunner
from wsdiag.training.recorder import Recorder
from wsdiag.training.run_lock import RunLock
from wsdiag.training.warm_start import PROBE_SEED_OFFSET

TRAINER_NAME = "trainer"  # the config field naming who ran the online stage


@dataclass(frozen=True)
class Phases:
    """The phase marks of the online stage, in environment steps from the warm start (0)."""

    policy_start: int  # the first step at which the fine-tuned policy acts (end of the warm-up)
    update_start: int  # the first step with actor (policy) updates
    total_steps: int  # the planned length of the online stage
    warmup_policy: str = "pretrained"  # who acts before policy_start: pretrained | random
    critic_updates_in_warmup: bool = True  # the critic learns before policy_start

    def check(self) -> None:
        """0 <= policy_start <= update_start <= total_steps, total_steps >= 1."""
        marks = (self.policy_start, self.update_start, self.total_steps)
        if not all(isinstance(m, int) and not isinstance(m, bool) for m in marks):
            raise WsdiagError(f"phases: the marks must be integers, got {marks}")
        if not 0 <= self.policy_start <= self.update_start <= self.total_steps or marks[2] < 1:
            raise WsdiagError(
                f"phases: need 0 <= policy_start ({self.policy_start}) <= update_start "
                f"({self.update_start}) <= total_steps ({self.total_steps}), total_steps >= 1"
            )
        if self.warmup_policy not in ("pretrained", "random"):
            raise WsdiagError(
                f"phases.warmup_policy must be 'pretrained' or 'random', got {self.warmup_policy!r}"
            )

    def table(self) -> dict[str, Any]:
        """The [warmstart] fields these marks are in a wsdiag config."""
        return {
            "warmup_steps": self.policy_start,
            "freeze_policy_steps": self.update_start - self.policy_start,
            "warmup_policy": self.warmup_policy,
            "train_critic_during_warmup": self.critic_updates_in_warmup,
        }


class _Transitions:
    """What the probe and warning callbacks read of a replay buffer: a probe set of its newest
    transitions (`ProbeSet.from_buffer` reads `recent`)."""

    def __init__(self, found: ProbeSet | None, act_dim: int) -> None:
        self.found, self.act_dim = found, act_dim

    def __len__(self) -> int:
        return 0 if self.found is None else len(self.found)

    def recent(self, n: int) -> dict[str, np.ndarray]:
        assert self.found is not None
        s = self.found
        return {"obs": s.states[-n:], "actions": s.actions[-n:], "rewards": s.rewards[-n:],
                "next_obs": s.next_states[-n:], "terminated": s.terminated[-n:]}  # fmt: skip


class _LoopView(StageClock):
    """The `wsdiag.core.LoopView` of an external loop: its step and phase, the networks and
    the newest transitions as they are now (each read once per step, and only when a callback
    needs it), the recorder."""

    def __init__(
        self,
        phases: list[Phase],
        recorder: Recorder,
        agent: Callable[[], Any],
        pretrained: Any,
        online: Callable[[], ProbeSet | None],
        act_dim: int,
    ) -> None:
        self.stage, self.phases, self.recorder = ONLINE, phases, recorder
        self.pretrained, self.act_dim = pretrained, act_dim
        self._sources = {"agent": agent, "buffer": lambda: _Transitions(online(), act_dim)}
        self._cache: dict[str, tuple[int, Any]] = {}
        self.state = LoopState()
        self.phase = self.phase_at(0)
        self.episode_length = 0
        self.action_override = None
        self.total_steps = phases[-1].end

    def _now(self, name: str) -> Any:
        step, value = self._cache.get(name, (-1, None))
        if step != self.state.step:
            value = self._sources[name]()
            self._cache[name] = (self.state.step, value)
        return value

    @property
    def agent(self) -> Any:
        return self._now("agent")

    @property
    def buffer(self) -> _Transitions:
        return self._now("buffer")


class Recording:
    """Probes, evaluations and events of an external online stage (module docstring).

    `agent` is the fine-tuned agent (a `CallableAgent`, or anything with its interface, such
    as a wsdiag agent); `reference` the pretrained one; `config` a wsdiag config table that
    describes the run (env, seed, [warmstart] from `phases`, [eval] and [probes] settings,
    whatever else the trainer knows), with `trainer` naming who trains.
    """

    def __init__(
        self,
        run_dir: str | Path,
        config: dict[str, Any],
        agent: Any,
        reference: Any,
        phases: Phases,
        *,
        probe_set: ProbeSet | None = None,
        online: Callable[[int], ProbeSet | None] | None = None,
        critic_loaded: bool = False,
        reference_algo: str = "",
        current: Callable[[], Any] | None = None,
    ) -> None:
        """`online(n)`: the newest n transitions of the user's buffer as a ProbeSet (or None);
        `current()`: the fine-tuned agent as it is now, where `agent` is a copy that must be
        made again at each call that reads it (an SB3 model's networks)."""
        phases.check()
        run_dir = Path(run_dir)
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            what = "another run" if (run_dir / CONFIG_FILE).exists() else "files"
            raise WsdiagError(f"run_dir: {run_dir} holds {what} already; give a new folder")
        table = {**config, "warmstart": {**config.get("warmstart", {}), **phases.table()}}
        table["finetune"] = {**table.get("finetune", {}), "steps": phases.total_steps}
        self.config: Config = from_dict(table, check_mitigation=False)
        env_cfg = self.config.env
        self.env = make_env(env_cfg.id, env_cfg.max_episode_steps, env_cfg.kwargs, env_cfg.imports)
        obs, _ = self.env.reset(seed=self.config.seed)
        probe_obs = np.stack([obs, self.env.observation_space.sample()])
        check_agent(agent, self.env, probe_obs, "")
        check_agent(reference, self.env, probe_obs, "reference_")
        seed = self.config.seed + PROBE_SEED_OFFSET
        n = self.config.probes.states
        behaviour = probe_set or collect_rollouts(self.env, reference, n, seed)
        check_probe_set(behaviour, self.env)
        self.current = current or (lambda: agent)
        self.online = online
        # every input checked: only now is anything written
        if run_dir.exists():
            run_dir.rmdir()  # empty (checked above)
        made = outermost_missing(run_dir)
        self.run_dir = create_run_dir(run_dir.parent, self.config, exact=run_dir)
        try:
            self._start(table, behaviour, critic_loaded, reference_algo, agent, reference)
        except BaseException:
            shutil.rmtree(made or self.run_dir, ignore_errors=True)
            raise

    def _start(self, table: dict[str, Any], behaviour: ProbeSet, critic_loaded: bool,
               reference_algo: str, agent: Any, reference: Any) -> None:  # fmt: skip
        """Write the run's first files and record step 0 (the baseline, the first probes)."""
        _write_config(self.run_dir, table, self.config)
        self.lock = RunLock(self.run_dir)
        self.recorder = Recorder(self.run_dir)
        self.recorder.event("start", run=self.run_dir.name, trainer=self.config.trainer)
        (self.run_dir / PROBES_DIR).mkdir()
        behaviour.save(self.run_dir / PROBES_DIR / PROBE_SET_FILE)
        loaded = ["actor", "critic"] if critic_loaded else ["actor"]
        algo = reference_algo or self.config.pretrain.algo
        self.recorder.event("warm_start", loaded=loaded, pretrained_algo=algo,
                            trainer=self.config.trainer)  # fmt: skip
        n, online = self.config.probes.states, self.online
        self.loop = _LoopView(online_phases(self.config), self.recorder, self.current, reference,
                              (lambda: online(n)) if online is not None else (lambda: None),
                              space_dims(self.env)[1])  # fmt: skip
        self.callbacks = self._callbacks(behaviour, WarmStart.of(self.config, loaded, algo))
        self.closed = False
        for cb in self.callbacks:
            cb.on_start(self.loop)
            cb.on_phase(self.loop, self.loop.phase.name)
        self.recorder.flush()

    def _callbacks(self, behaviour: ProbeSet, warm: WarmStart) -> list[Callback]:
        cfg, seed = self.config, self.config.seed
        eval_env = make_env(cfg.env.id, cfg.env.max_episode_steps, cfg.env.kwargs, cfg.env.imports)
        callbacks: list[Callback] = [
            PhaseEvents(),
            Evaluator(eval_env, cfg.eval.every, cfg.eval.episodes, seed + EVAL_SEED_OFFSET,
                      baseline=True),
        ]  # fmt: skip
        if cfg.probes.every > 0:
            callbacks.append(ProbeRunner(cfg.probes, behaviour, seed + PROBE_SEED_OFFSET))
            if cfg.probes.warn != "off":
                update_start = cfg.warmstart.warmup_steps + cfg.warmstart.freeze_policy_steps
                callbacks.append(EarlyWarning(cfg.probes, behaviour, update_start, warm))
        return callbacks

    # ------------------------------------------------------------------ the user's calls

    def step(self, step: int) -> None:
        """Environment step `step` (from 1) and its updates are done: run what is due."""
        if self.closed:
            raise WsdiagError("step: this recording is closed")
        loop = self.loop
        if step <= loop.step:
            raise WsdiagError(f"step: {step} does not come after step {loop.step}")
        rows = len(self.recorder.rows)
        for s in range(loop.step + 1, min(step, loop.total_steps) + 1):
            loop.state.step = s
            for cb in self.callbacks:
                cb.on_env_step(loop)
            phase = loop.phase_at(s)
            if phase.name != loop.phase.name and s < loop.total_steps:
                loop.phase = phase
                for cb in self.callbacks:
                    cb.on_phase(loop, phase.name)
        if step > loop.total_steps:
            loop.state.step = step
        if len(self.recorder.rows) != rows:
            self.recorder.flush()

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """The trainer's own scalars at `step` (0 to total_steps), as `train/<key>` rows (a key
        that has a namespace, `losses/critic` say, keeps it)."""
        if not 0 <= step <= self.loop.total_steps:
            raise WsdiagError(f"log: step {step} is outside 0..{self.loop.total_steps}")
        rows = {(k if "/" in k else f"train/{k}"): float(v) for k, v in metrics.items()}
        self.recorder.log(step, self.loop.phase_at(step).name, rows)

    def save_agent(self, name: str, agent: Any) -> Path:
        """A wsdiag agent as checkpoints/<name> (`wsdiag probe --checkpoint` reads it; the
        one named `pretrained` is the reference of the others)."""
        meta = checkpoint_meta(self.config, self.run_dir)(self.loop)
        path = self.run_dir / CHECKPOINTS_DIR / name
        return save_checkpoint(path, agent, meta | {"trainer": self.config.trainer},
                               {"step": self.loop.step})  # fmt: skip

    @property
    def stopped(self) -> bool:
        """True once the early warning asked the run to stop (`probes.stop_on_warning`)."""
        return self.loop.state.stop_reason is not None

    def close(self) -> Path:
        """End the recording: the end-of-stage callbacks, the `end` event, files flushed."""
        if self.closed:
            return self.run_dir
        self.closed = True
        try:
            for cb in self.callbacks:
                cb.on_end(self.loop)
            reason = self.loop.state.stop_reason or (
                "step_budget" if self.loop.step >= self.loop.total_steps else "stopped_early"
            )
            self.recorder.event("end", step=self.loop.step, reason=reason)
        finally:
            self.recorder.flush()
            self.lock.release()
        return self.run_dir

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------- checks


def check_agent(agent: Any, env: gym.Env, obs: np.ndarray, prefix: str) -> None:
    """`agent` answers the env's observations with the shapes it needs (CallableAgent.check;
    a wsdiag agent by its dimensions); errors name `<prefix>actor` or `<prefix>critic`."""
    if isinstance(agent, CallableAgent):
        agent.check(obs, prefix)
        return
    dims = (getattr(agent, "obs_dim", None), getattr(agent, "act_dim", None))
    if dims != space_dims(env):
        raise WsdiagError(
            f"{prefix}actor: made for observations ({dims[0]},) and actions ({dims[1]},); the "
            f"environment has observations ({space_dims(env)[0]},) and actions "
            f"({space_dims(env)[1]},)"
        )


def check_probe_set(probe_set: ProbeSet, env: gym.Env) -> None:
    """The probe set's states and actions have the env's widths."""
    obs_dim, act_dim = space_dims(env)
    widths = (probe_set.states.shape[-1], probe_set.actions.shape[-1])
    if probe_set.states.ndim != 2 or widths != (obs_dim, act_dim) or len(probe_set) == 0:
        raise WsdiagError(
            f"probe_set: states {probe_set.states.shape} and actions "
            f"{probe_set.actions.shape}; the environment needs [N, {obs_dim}] and "
            f"[N, {act_dim}] with N >= 1"
        )


# ----------------------------------------------------------------------------- files


def _write_config(run_dir: Path, table: dict[str, Any], config: Config) -> None:
    """config.toml: what the trainer declared, not wsdiag's defaults for the rest (a field not
    written was not the trainer's to say); meta.json notes the trainer."""
    header = (
        f"# Recorded through wsdiag.api from a run of the {config.trainer} trainer: the fields\n"
        "# below are what that trainer declared; wsdiag's defaults fill the rest when read.\n"
    )
    (run_dir / CONFIG_FILE).write_text(header + tomli_w.dumps(table))
    meta_path = run_dir / META_FILE
    meta = json.loads(meta_path.read_text())
    meta[TRAINER_NAME] = config.trainer
    meta_path.write_text(json.dumps(meta, indent=2))


__all__ = ["Phases", "Recording", "check_agent", "check_probe_set"]
