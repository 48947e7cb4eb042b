"""Jump-Start RL (Uchendu et al., 2023): a guide policy rolls in, the learning policy takes over.

In every episode the guide (the pretrained agent, or a checkpoint: `guide_path`) acts for the
first h steps (episode steps t < h) and the agent being fine-tuned for the rest; both parts go
to the replay buffer and the agent learns from all of it. This module is the curriculum (the
schedule of the JSRL paper and of the public port steventango/jumpstart-rl); jsrl_random is the
random switch of the WSRL paper's JSRL baseline.

    h runs through H, H - H/n, ..., 0 (n = `stages`, H = `max_horizon`, default the episode
    step limit). Every `eval_every` env steps the combined policy (guide for t < h, then the
    learner, both deterministic) is evaluated for `eval_episodes` episodes on the spare env; m is
    the mean of the last `window` evaluations. The first full window sets best = m; after that,
    h moves to the next stage when m >= best - tolerance |best| (the tolerance is taken at the
    time best was set), and best = max(best, m). Evaluations stop once h = 0.

Records `mitigation/horizon` and `mitigation/jsrl_return`; its state lives in
loop.state.controllers["jsrl"].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from wsdiag.agents import ActorCritic
from wsdiag.agents.checkpoint import load_checkpoint
from wsdiag.agents.networks import DeterministicActor
from wsdiag.config.mitigations import jsrl_random
from wsdiag.config.mitigations.jsrl import TABLE, Params
from wsdiag.core import Actor, Callback, LoopView
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.base import Mitigation, MitigationContext
from wsdiag.rundir import resolve_checkpoint

NAME = TABLE.name


def guide_inputs(p: Params | jsrl_random.Params, where: str) -> None:
    """A given guide is a checkpoint on disk (its path was found when the config loaded)."""
    if p.guide_path is not None:
        try:
            resolve_checkpoint(Path(p.guide_path))
        except WsdiagError as exc:
            raise WsdiagError(f"{where}.guide_path: {exc}") from None


def load_guide(ctx: MitigationContext, guide_path: str | None) -> ActorCritic:
    """The guide policy: the pretrained agent, or the agent saved at `guide_path`."""
    if guide_path is None:
        return ctx.pretrained
    agent = ctx.agent
    return load_checkpoint(guide_path).make_agent(agent.obs_dim, agent.act_dim, str(agent.device))


class GuideSwitch:
    """The loop's action override: the guide's action while the episode step is below h.

    Exploring, the guide adds its own exploration (`guide_noise = "own"`) or, as the public port
    (steventango/jumpstart-rl, on Stable-Baselines3) does, the learner's: SB3 adds the learning
    algorithm's action noise to whatever the policy returns, guide included ("learner": the
    guide's pi(s) plus N(0, expl_noise^2) of a TD3/DDPG learner; a SAC learner has no action
    noise, so its guide acts deterministically)."""

    def __init__(self, guide: ActorCritic, explore: bool, noise: str = "own") -> None:
        self.guide, self.explore, self.noise, self.horizon = guide, explore, noise, 0

    def __call__(self, loop: LoopView, obs: np.ndarray) -> np.ndarray | None:
        if loop.episode_length >= self.horizon:
            return None
        if not self.explore or self.noise == "own":
            return self.guide.act(obs, explore=self.explore)
        action = self.guide.act(obs, explore=False)
        std = learner_noise(loop.agent)
        noise = std * torch.randn(action.shape).numpy() if std else 0.0
        return np.clip(action + noise, -1.0, 1.0).astype(np.float32)


def learner_noise(agent: ActorCritic) -> float:
    """The std of the learner's Gaussian action noise (TD3/DDPG), 0 for a stochastic actor."""
    return float(agent.cfg.expl_noise) if isinstance(agent.actor, DeterministicActor) else 0.0


def curriculum(max_horizon: int, stages: int) -> list[int]:
    """H, H - H/n, ..., 0 (the step is at least 1; 0 is always the last stage)."""
    step = max(1, max_horizon // max(1, stages))
    horizons = list(range(max_horizon, -1, -step))
    return horizons if horizons[-1] == 0 else [*horizons, 0]


def evaluate_switch(
    guide: ActorCritic, learner: ActorCritic, horizon: int, env: gym.Env, episodes: int, seed: int
) -> float:
    """Mean return of the combined deterministic policy (guide for t < horizon, then learner)."""
    total = 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        t, done = 0, False
        while not done:
            agent = guide if t < horizon else learner
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
            total += float(reward)
            t += 1
            done = terminated or truncated
    return total / episodes


def episode_limit(ctx: MitigationContext) -> int:
    limit = ctx.config.env.max_episode_steps
    if limit is None and ctx.env.spec is not None:
        limit = ctx.env.spec.max_episode_steps
    if limit is None:
        raise WsdiagError(
            "jsrl: the env has no episode step limit; set [mitigation.jsrl] max_horizon"
        )
    return int(limit)


class JSRLCurriculum(Callback):
    """Moves h down the curriculum on the moving mean of the combined policy's evaluations."""

    def __init__(
        self, ctx: MitigationContext, p: Params, switch: GuideSwitch, horizons: list[int]
    ) -> None:
        self.ctx, self.p, self.switch, self.horizons = ctx, p, switch, horizons
        self.state: dict[str, Any] = {"stage": 0, "best": None, "tolerated": None, "window": []}

    def _sync(self, loop: LoopView) -> None:
        self.switch.horizon = self.horizons[self.state["stage"]]
        loop.state.controllers[NAME] = self.state

    def on_start(self, loop: LoopView) -> None:
        self.state = dict(loop.state.controllers.get(NAME) or self.state)
        loop.action_override = self.switch
        self._sync(loop)
        loop.recorder.log(loop.step, loop.phase.name, {"mitigation/horizon": self.switch.horizon})

    def on_env_step(self, loop: LoopView) -> None:
        p, s = self.p, self.state
        acting = loop.phase.actor == Actor.AGENT
        if not acting or loop.step % p.eval_every != 0 or self.switch.horizon <= 0:
            return
        mean = evaluate_switch(
            self.switch.guide,
            loop.agent,
            self.switch.horizon,
            self.ctx.env,
            p.eval_episodes,
            self.ctx.seed + 4_241,
        )
        s["window"] = [*s["window"], mean][-p.window :]
        moving = float(np.mean(s["window"]))
        if len(s["window"]) == p.window:
            if s["best"] is None:
                s["best"] = moving
            elif moving >= s["tolerated"]:
                s["stage"] = min(s["stage"] + 1, len(self.horizons) - 1)
            if moving >= s["best"]:
                s["tolerated"] = moving - p.tolerance * abs(moving)
                s["best"] = max(s["best"], moving)
        self._sync(loop)
        rows = {"mitigation/horizon": self.switch.horizon, "mitigation/jsrl_return": moving}
        loop.recorder.log(loop.step, loop.phase.name, rows)


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    horizon = p.max_horizon if p.max_horizon is not None else episode_limit(ctx)
    switch = GuideSwitch(load_guide(ctx, p.guide_path), p.guide_explore, p.guide_noise)
    return [JSRLCurriculum(ctx, p, switch, curriculum(horizon, p.stages))]


MITIGATION = Mitigation(TABLE, install, inputs=guide_inputs)
