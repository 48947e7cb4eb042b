"""Jump-Start RL (Uchendu et al., 2023): a guide policy rolls in, the learning policy takes over.

In every episode the guide (the pretrained agent, or a checkpoint: `guide_path`) acts for the
first h steps (episode steps t < h) and the agent being fine-tuned for the rest; both parts go
to the replay buffer and the agent learns from all of it. Two ways to choose h:

jsrl (curriculum; the schedule of the JSRL paper and of the public port steventango/jumpstart-rl):
    h runs through H, H - H/n, ..., 0 (n = `stages`, H = `max_horizon`, default the episode
    step limit). Every `eval_every` env steps the combined policy (guide for t < h, then the
    learner, both deterministic) is evaluated for `eval_episodes` episodes on the spare env; m is
    the mean of the last `window` evaluations. The first full window sets best = m; after that,
    h moves to the next stage when m >= best - tolerance |best| (the tolerance is taken at the
    time best was set), and best = max(best, m). Evaluations stop once h = 0.

jsrl_random (the WSRL paper's JSRL baseline, its appendix I): at the start of each episode,
    with probability p = p_start max(0, 1 - step / decay_steps), h ~ Geometric(1 - gamma)
    (support 1, 2, ...; mean 1 / (1 - gamma) = 100 steps); otherwise h = 0.

Both record `mitigation/horizon`; their state lives in loop.state.extra["jsrl"].
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from wsdiag.agents.base import ActorCritic
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.registry import MitigationContext, register
from wsdiag.training.callbacks import Callback
from wsdiag.training.loop import Loop

STATE_KEY = "jsrl"


def load_guide(ctx: MitigationContext, guide_path: str | None) -> ActorCritic:
    """The guide policy: the pretrained agent, or the agent saved at `guide_path`."""
    if guide_path is None:
        return ctx.pretrained
    from wsdiag.training.checkpoint import load_checkpoint

    agent = ctx.agent
    return load_checkpoint(guide_path).make_agent(agent.obs_dim, agent.act_dim, str(agent.device))


class GuideSwitch:
    """The loop's action override: the guide's action while the episode step is below h."""

    def __init__(self, guide: ActorCritic, explore: bool) -> None:
        self.guide, self.explore, self.horizon = guide, explore, 0

    def __call__(self, loop: Loop, obs: np.ndarray) -> np.ndarray | None:
        if loop.episode_length < self.horizon:
            return self.guide.act(obs, explore=self.explore)
        return None


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

    def __init__(self, ctx: MitigationContext, switch: GuideSwitch, horizons: list[int]) -> None:
        self.ctx, self.switch, self.horizons = ctx, switch, horizons
        self.p = ctx.config.mitigation.jsrl
        self.state: dict[str, Any] = {"stage": 0, "best": None, "tolerated": None, "window": []}

    def _sync(self, loop: Loop) -> None:
        self.switch.horizon = self.horizons[self.state["stage"]]
        loop.state.extra[STATE_KEY] = self.state

    def on_start(self, loop: Loop) -> None:
        self.state = dict(loop.state.extra.get(STATE_KEY) or self.state)
        loop.action_override = self.switch
        self._sync(loop)
        loop.recorder.log(loop.step, loop.phase.name, {"mitigation/horizon": self.switch.horizon})

    def on_env_step(self, loop: Loop) -> None:
        p, s = self.p, self.state
        if loop.phase.actor != "agent" or loop.step % p.eval_every != 0 or self.switch.horizon <= 0:
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


class JSRLRandomSwitch(Callback):
    """Draws each episode's roll-in length (see the module docstring)."""

    def __init__(self, ctx: MitigationContext, switch: GuideSwitch) -> None:
        self.switch, self.p = switch, ctx.config.mitigation.jsrl_random
        self.rng = np.random.default_rng(ctx.seed + 6_007)

    def on_start(self, loop: Loop) -> None:
        saved = loop.state.extra.get(STATE_KEY)
        if saved:
            self.rng.bit_generator.state = saved["rng"]
        loop.action_override = self.switch
        self._draw(loop)

    def on_episode_end(self, loop: Loop, episode_return: float, length: int) -> None:
        self._draw(loop)

    def probability(self, step: int) -> float:
        return self.p.p_start * max(0.0, 1.0 - step / self.p.decay_steps)

    def _draw(self, loop: Loop) -> None:
        guided = self.rng.random() < self.probability(loop.step)
        self.switch.horizon = int(self.rng.geometric(1.0 - self.p.gamma)) if guided else 0
        loop.state.extra[STATE_KEY] = {"rng": self.rng.bit_generator.state}
        loop.recorder.log(loop.step, loop.phase.name, {"mitigation/horizon": self.switch.horizon})


@register("jsrl")
def build_jsrl(ctx: MitigationContext) -> list[Callback]:
    p = ctx.config.mitigation.jsrl
    if p.eval_every < 1 or p.eval_episodes < 1 or p.window < 1 or p.stages < 1:
        raise WsdiagError("mitigation.jsrl: eval_every, eval_episodes, window, stages must be >= 1")
    horizons = curriculum(
        p.max_horizon if p.max_horizon is not None else episode_limit(ctx), p.stages
    )
    switch = GuideSwitch(load_guide(ctx, p.guide_path), p.guide_explore)
    return [JSRLCurriculum(ctx, switch, horizons)]


@register("jsrl_random")
def build_jsrl_random(ctx: MitigationContext) -> list[Callback]:
    p = ctx.config.mitigation.jsrl_random
    if not 0.0 <= p.gamma < 1.0 or p.decay_steps < 1:
        raise WsdiagError("mitigation.jsrl_random: need 0 <= gamma < 1 and decay_steps >= 1")
    switch = GuideSwitch(load_guide(ctx, p.guide_path), p.guide_explore)
    return [JSRLRandomSwitch(ctx, switch)]
