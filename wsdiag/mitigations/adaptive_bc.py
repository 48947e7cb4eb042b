"""REDQ+AdaptiveBC (Zhao et al., "Adaptive Behavior Cloning Regularization for Stable
Offline-to-Online Learning"): a TD3+BC-style actor whose BC weight follows a PD controller.

Actor loss (their eq. 1), Q normalised by the batch's mean |Q| with no gradient through it:

    L(pi) = mean_s [ -Q(s, pi(s)) / mean|Q| + alpha_online err(pi(s), a) ]

with a = the batch's action (offline or online: the buffer's action, as in their code) and err
the cloning error of `wsdiag.agents.bc` (`bc_reduce`). As an action-space direction:

    g <- g / mean|Q| + 2 c alpha_online (a - a_data)

the TD3+BC direction (wsdiag.agents.td3_bc) with alpha = 1 and the per-transition weight
alpha_online: a td3bc agent takes it as its `bc_weight`, a td3 agent as an appended direction
hook. With alpha_online = alpha_offline = 0.4 this is TD3+BC with bc_alpha = 1 / 0.4 = 2.5 up to
a constant factor, which is how the pretraining stage reproduces their offline phase.

After every training episode (phases where the actor learns), with normalised returns
R = (return - ref_min) / (ref_max - ref_min) (their "D4RL normalisation", on a 0-1 scale):

    code (default, zhaoyi11/adaptive_bc main.py, where the published numbers come from):
                    alpha += T (Kp (R_avg - R_target) + Kd max(0, R_avg - R_current))
                    R_avg <- 0.05 R_current + 0.95 R_avg   (T = the episode's length;
                    R_avg starts at the pretrained policy's normalised evaluation return)
                    Kp = 3e-5, Kd = 1e-4, R_target = 1.05
    paper (eq. 2):  alpha += Kp (R_current - R_target) + Kd max(0, R_last - R_current)
                    R_last = the previous episode's R (the first episode: its own R);
                    Table 1's Kd = 8e-5, R_target = 1

clipped to [0, alpha_offline]. Without T the paper's rule moves alpha by about Kp per episode:
over 100 episodes of 200 steps with R uniform in [0, 0.6], 0.4 -> 0.3988, fixed-alpha TD3+BC in
effect; the code's rule, T Kp per episode, takes it 0.4 -> 0.18 over the same episodes (tested).
R is relative to the dataset's reference scores; without an expert reference (no dataset, or
none in it) ref_max is the pretrained policy's return, so R_target = 1.05 asks for 5% more than
the pretrained policy: the controller then records a `warning` event, which `wsdiag report`
shows. Records `mitigation/alpha` and `mitigation/normalized_return`; its state lives in
loop.state.controllers["adaptive_bc"]. The ensemble (10 critics, random 2-subset targets), G
updates per env step and the 5% retention with its 50,000-transition floor are config settings
(examples/recipes/redq_adaptive_bc.toml).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from wsdiag.agents import TD3, TD3BC, ActorCritic
from wsdiag.agents.base import ActorDirection, Metrics
from wsdiag.agents.bc import bc_scale
from wsdiag.agents.td3_bc import td3bc_direction
from wsdiag.config.algorithms import bc
from wsdiag.config.mitigations.adaptive_bc import TABLE, Params
from wsdiag.core import Callback, LoopView
from wsdiag.data.buffer import Batch
from wsdiag.envs import evaluate, uniform_random
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.base import Mitigation, MitigationContext

NAME = TABLE.name


@dataclass
class PDController:
    """The PD rule on alpha_online (see the module docstring); `step` takes one episode."""

    alpha: float
    kp: float
    kd: float
    target: float
    high: float
    variant: str = "paper"
    r_last: float | None = None  # paper: the previous episode's R; code: the moving average

    def step(self, r_current: float, length: int = 1) -> float:
        r_last = r_current if self.r_last is None else self.r_last
        if self.variant == "paper":
            delta = self.kp * (r_current - self.target) + self.kd * max(0.0, r_last - r_current)
            self.r_last = r_current
        else:
            delta = length * (
                self.kp * (r_last - self.target) + self.kd * max(0.0, r_last - r_current)
            )
            self.r_last = 0.05 * r_current + 0.95 * r_last
        self.alpha = float(min(max(self.alpha + delta, 0.0), self.high))
        return self.alpha


def adaptive_bc_direction(ctrl: PDController) -> ActorDirection:
    """For a td3 agent: g / mean|Q| + 2 c alpha_online (a - a_data), alpha_online read from
    `ctrl` at each call, c of BC's default reduction (the mean over action dimensions)."""

    def direction(
        agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor
    ) -> tuple[Tensor, Metrics]:
        c = bc_scale(bc.Params.bc_reduce, agent.act_dim)
        return td3bc_direction(g, q, actions, batch.actions, 1.0, c, ctrl.alpha)

    return direction


def pretrained_return(ctx: MitigationContext, p: Params) -> float:
    """The pretrained policy's mean return over `ref_episodes` episodes of the spare env."""
    pretrained, seed = ctx.pretrained, ctx.seed + 7_919
    act = lambda obs: pretrained.act(obs, explore=False)  # noqa: E731
    return float(evaluate(act, ctx.env, p.ref_episodes, seed).mean())


def reference_returns(ctx: MitigationContext, p: Params) -> tuple[float, float, str]:
    """(ref_min, ref_max, where ref_max came from): the parameters, else the dataset's reference
    scores, else measured: uniform random actions and the pretrained policy on the spare env."""
    low, high = p.ref_min, p.ref_max
    pre = ctx.config.pretrain
    if (low is None or high is None) and pre.source == "offline" and pre.dataset:
        from wsdiag.data.minari_read import read_metadata

        meta = read_metadata(pre.dataset)
        low = meta.get("ref_min_score") if low is None else low
        high = meta.get("ref_max_score") if high is None else high
    seed = ctx.seed + 7_919
    if low is None:
        act = uniform_random(ctx.agent.act_dim, seed)
        low = float(evaluate(act, ctx.env, p.ref_episodes, seed).mean())
    source = "given" if p.ref_max is not None else "dataset"
    if high is None:
        high, source = pretrained_return(ctx, p), "pretrained"
    if not high > low:
        raise WsdiagError(
            f"adaptive_bc: reference returns ref_min = {low:.4g} >= ref_max = {high:.4g}; set "
            "[mitigation.adaptive_bc] ref_min and ref_max"
        )
    return float(low), float(high), source


class AdaptiveBCController(Callback):
    """Moves alpha_online after each training episode (see the module docstring)."""

    def __init__(self, ctx: MitigationContext, p: Params, ctrl: PDController) -> None:
        self.ctx, self.p, self.ctrl = ctx, p, ctrl
        self.refs: tuple[float, float] | None = None

    def on_start(self, loop: LoopView) -> None:
        saved = loop.state.controllers.get(NAME)
        if saved:
            self.ctrl.alpha, self.ctrl.r_last = saved["alpha"], saved["r_last"]
            self.refs = (saved["ref_min"], saved["ref_max"])
        else:
            low, high, source = reference_returns(self.ctx, self.p)
            self.refs = (low, high)
            if source == "pretrained":
                loop.recorder.event("warning", message=(
                    f"adaptive_bc: no expert reference score, so R_target = {self.p.target:g} "
                    f"is relative to the pretrained policy's return ({high:.4g}), not an expert's"
                ))  # fmt: skip
            if self.ctrl.variant == "code":  # R_avg starts at the pretrained policy's return
                self.ctrl.r_last = (pretrained_return(self.ctx, self.p) - low) / (high - low)
            self._save(loop)
        loop.recorder.log(loop.step, loop.phase.name, {"mitigation/alpha": self.ctrl.alpha})

    def _save(self, loop: LoopView) -> None:
        assert self.refs is not None
        loop.state.controllers[NAME] = {
            "alpha": self.ctrl.alpha,
            "r_last": self.ctrl.r_last,
            "ref_min": self.refs[0],
            "ref_max": self.refs[1],
        }

    def on_episode_end(self, loop: LoopView, episode_return: float, length: int) -> None:
        if not loop.phase.update_actor or self.refs is None:
            return
        low, high = self.refs
        r = (episode_return - low) / (high - low)
        self.ctrl.step(r, length)
        self._save(loop)
        rows = {"mitigation/alpha": self.ctrl.alpha, "mitigation/normalized_return": r}
        loop.recorder.log(loop.step, loop.phase.name, rows)


def install(ctx: MitigationContext, p: Params) -> list[Callback]:
    ctrl = PDController(p.alpha_offline, p.kp, p.kd, p.target, p.alpha_offline, p.variant)
    agent = ctx.agent
    if isinstance(agent, TD3BC):
        agent.bc_alpha = 1.0
        agent.bc_weight = lambda agent, batch: (ctrl.alpha, {})
    else:
        assert isinstance(agent, TD3)
        agent.actor_directions.insert(0, adaptive_bc_direction(ctrl))
    return [AdaptiveBCController(ctx, p, ctrl)]


MITIGATION = Mitigation(TABLE, install)
