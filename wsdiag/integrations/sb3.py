"""Stable-Baselines3: wsdiag's probes, evaluations and diagnosis on `model.learn` (TD3, DDPG, SAC).

    from wsdiag.integrations.sb3 import WsdiagCallback
    model = TD3.load("pretrained.zip", env=env)
    model.learn(20_000, callback=WsdiagCallback("runs/mine", reference="pretrained.zip"))

At each probe or evaluation the callback copies the model's networks into the wsdiag agent
that SB3 zips import as (`wsdiag.agents.sb3`, same mapping, same numbers), so every probe is
wsdiag's own. The phases come from SB3's counters: before `learning_starts` SB3 acts uniformly
at random and does not update (warm-up, random policy, no critic updates); from it, critic and
actor learn together (`policy_delay` aside). SB3 calls a callback after each environment step and
before the updates that follow it, so the probes at step t see the updates of steps < t (one
train call fewer than wsdiag's loop at the same step).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy

from wsdiag.agents.sb3 import (
    SB3Model,
    agent_config,
    check_fits,
    networks_of,
    read_sb3,
    to_agent,
)
from wsdiag.config import PretrainConfig
from wsdiag.data.probe_set import ProbeSet
from wsdiag.envs import make_env
from wsdiag.errors import WsdiagError
from wsdiag.integrations.recording import Phases, Recording
from wsdiag.rundir import CHECKPOINTS_DIR, PRETRAINED

TRAINER = "sb3"
LIVE = Path("<the model being trained>")  # the SB3Model path of a live model


def live_model(model: Any) -> SB3Model:
    """The networks of an SB3 model as they are now, as `read_sb3` reads them from a zip."""
    where = f"SB3 model {type(model).__name__}"
    if isinstance(model.policy, SACPolicy):
        family = "sac"
    elif isinstance(model.policy, TD3Policy):
        family = "deterministic"
    else:
        raise WsdiagError(f"{where}: its policy {type(model.policy).__name__} is not "
                          "TD3Policy or SACPolicy (TD3, DDPG and SAC are supported)")  # fmt: skip
    weights = {k: v.detach().cpu() for k, v in model.policy.state_dict().items()}
    log_ent = None
    if family == "sac":
        coef = getattr(model, "log_ent_coef", None)
        log_ent = (float(coef.detach().cpu().reshape(-1)[0]) if coef is not None
                   else math.log(float(model.ent_coef_tensor)))  # fmt: skip
    obs, act = model.observation_space, model.action_space
    return SB3Model(
        LIVE, family, _sb3_version(), tuple(obs.shape), tuple(act.shape),
        np.asarray(act.low, np.float64), np.asarray(act.high, np.float64),
        **networks_of(family, weights, where), log_ent_coef=log_ent,
        data={"gamma": float(model.gamma), "tau": float(model.tau)},
    )  # fmt: skip


def _sb3_version() -> str:
    import stable_baselines3

    return stable_baselines3.__version__


def as_agent(model: SB3Model, device: str = "cpu") -> Any:
    """The wsdiag agent holding these networks."""
    return to_agent(model, agent_config(model, PretrainConfig()), device)


def same_critics(a: SB3Model, b: SB3Model) -> bool:
    """Whether two models hold the same critic weights (the critic was warm-started)."""
    if [_shapes(c) for c in a.critics] != [_shapes(c) for c in b.critics]:
        return False
    tensors = zip(_flat(a.critics), _flat(b.critics), strict=True)
    return all(bool((x == y).all()) for x, y in tensors)


def _shapes(layers: list[tuple[Any, Any]]) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for layer in layers for t in layer]


def _flat(critics: list[list[tuple[Any, Any]]]) -> list[Any]:
    return [t for layers in critics for layer in layers for t in layer]


def newest_transitions(model: Any, n: int) -> ProbeSet | None:
    """The newest n transitions of the model's replay buffer (its first environment), actions
    as SB3 stores them: already in [-1, 1]."""
    buffer = model.replay_buffer
    size = 0 if buffer is None else buffer.buffer_size if buffer.full else buffer.pos
    if size == 0:
        return None
    idx = (buffer.pos - 1 - np.arange(min(n, size))[::-1]) % buffer.buffer_size
    timeouts = getattr(buffer, "timeouts", np.zeros_like(buffer.dones))
    terminated = buffer.dones[idx, 0] * (1 - timeouts[idx, 0])
    return ProbeSet(
        states=buffer.observations[idx, 0].astype(np.float32),
        actions=buffer.actions[idx, 0].astype(np.float32),
        rewards=buffer.rewards[idx, 0].astype(np.float32),
        next_states=buffer.next_observations[idx, 0].astype(np.float32),
        terminated=terminated.astype(np.float32),
        labels=np.full(len(idx), "online"),
    )


def finetune_table(model: Any, sb3: SB3Model) -> dict[str, Any]:
    """The [finetune] settings of an SB3 model in wsdiag's names: what `diagnose --confirm`
    reruns in wsdiag's trainer (docs/api.md lists what differs)."""
    lr = model.learning_rate
    if not isinstance(lr, int | float):
        lr = float(model.lr_schedule(1.0))  # a schedule: its value at the start
    freq = model.train_freq
    utd = model.gradient_steps / freq.frequency if freq.unit.value == "step" else 1
    table: dict[str, Any] = {
        "algo": sb3.algo, "hidden": list(sb3.pi), "ensemble": len(sb3.critics),
        "gamma": float(model.gamma), "tau": float(model.tau), "batch_size": int(model.batch_size),
        "actor_lr": float(lr), "critic_lr": float(lr), "utd": max(round(utd), 1),
        "buffer_size": int(model.buffer_size),
    }  # fmt: skip
    if sb3.family == "deterministic":
        noise = model.action_noise
        sigma = float(np.mean(noise._sigma)) if isinstance(noise, NormalActionNoise) else 0.0
        table |= {"expl_noise": sigma}
        if sb3.algo == "td3":
            table |= {"policy_delay": int(model.policy_delay),
                      "policy_noise": float(model.target_policy_noise),
                      "noise_clip": float(model.target_noise_clip)}  # fmt: skip
    else:
        table |= {"autotune_alpha": getattr(model, "log_ent_coef", None) is not None}
        if model.target_entropy is not None:
            table["target_entropy"] = float(model.target_entropy)
    return table


class WsdiagCallback(BaseCallback):
    """Records an SB3 `learn` into a wsdiag run directory (module docstring).

    run_dir: a new folder; reference: the pretrained model's zip (None: the model as it is when
    `learn` starts); env: the Gymnasium id (None: the id of the model's first environment);
    probe_every, eval_every, eval_episodes: as [probes] every and [eval] in wsdiag's configs;
    probes: other [probes] settings; probe_set: the behavioural states (None: rollouts of the
    reference policy).
    """

    def __init__(
        self,
        run_dir: str | Path,
        reference: str | Path | None = None,
        *,
        env: str | None = None,
        probe_every: int = 2_000,
        eval_every: int = 2_000,
        eval_episodes: int = 5,
        probes: dict[str, Any] | None = None,
        probe_set: ProbeSet | None = None,
        seed: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.run_dir, self.reference_path = Path(run_dir), reference
        self.env_id, self.seed, self.probe_set = env, seed, probe_set
        self.settings = {"eval": {"every": eval_every, "episodes": eval_episodes},
                         "probes": {"every": probe_every, **(probes or {})}}  # fmt: skip
        self.recording: Recording | None = None
        self.start = 0

    def _on_training_start(self) -> None:
        model = self.model
        self.start = int(model.num_timesteps)
        now = live_model(model)
        reference = read_sb3(self.reference_path) if self.reference_path else now
        total = int(model._total_timesteps) - self.start
        policy_start = min(max(int(model.learning_starts) - self.start, 0), total)
        phases = Phases(policy_start, policy_start, max(total, 1), warmup_policy="random",
                        critic_updates_in_warmup=False)  # fmt: skip
        critic_loaded = same_critics(now, reference)
        env_id = self.env_id or _env_id(model)
        env = make_env(env_id)
        check_fits(reference, env)
        check_fits(now, env)
        pretrain: dict[str, Any] = {"source": "sb3", "algo": reference.algo}
        if self.reference_path:
            pretrain["path"] = str(Path(self.reference_path).resolve())
        else:  # the model as it was at the start, which the run keeps as its reference
            kept = self.run_dir / CHECKPOINTS_DIR / PRETRAINED
            pretrain |= {"source": "checkpoint", "path": str(kept.resolve())}
        config = {
            "name": self.run_dir.name, "seed": self.seed if self.seed is not None else
            int(model.seed or 0), "trainer": TRAINER, "env": {"id": env_id},
            "pretrain": pretrain,
            "warmstart": {"load": ["actor", "critic"] if critic_loaded else ["actor"]},
            "finetune": finetune_table(model, now), **self.settings,
        }  # fmt: skip
        self.recording = Recording(
            self.run_dir, config, as_agent(now), as_agent(reference), phases,
            probe_set=self.probe_set, online=lambda n: newest_transitions(self.model, n),
            critic_loaded=critic_loaded, reference_algo=reference.algo,
            current=lambda: as_agent(live_model(self.model)),
        )  # fmt: skip
        self.recording.save_agent(PRETRAINED, as_agent(reference))

    def _on_step(self) -> bool:
        assert self.recording is not None
        self.recording.step(int(self.model.num_timesteps) - self.start)
        return not self.recording.stopped

    def _on_training_end(self) -> None:
        if self.recording is not None:
            loop = self.recording.loop  # the networks its last probes saw: SB3 trains once
            self.recording.save_agent(f"step_{loop.step}", loop.agent)  # more after this call
            self.recording.close()


def _env_id(model: Any) -> str:
    env = model.get_env()
    specs = env.get_attr("spec") if env is not None else [None]
    if not specs or specs[0] is None:
        raise WsdiagError("env: the model's environment has no Gymnasium id; pass env='<id>'")
    return str(specs[0].id)
