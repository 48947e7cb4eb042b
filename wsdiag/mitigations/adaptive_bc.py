"""REDQ+AdaptiveBC (Zhao et al., "Adaptive Behavior Cloning Regularization for Stable
Offline-to-Online Learning"): a TD3+BC-style actor whose BC weight follows a PD controller.

Actor loss (their eq. 1), Q normalised by the batch's mean |Q| with no gradient through it:

    L(pi) = mean_s [ -Q(s, pi(s)) / mean|Q| + alpha_online err(pi(s), a) ]

with a = the batch's action (offline or online: the buffer's action, as in their code) and err
the cloning error of `wsdiag.agents.bc` (`bc_reduce`). As an action-space direction:

    g <- g / mean|Q| + 2 c alpha_online (a - a_data)

installed on a td3 agent (appended) or a td3bc agent (replacing its TD3+BC hook). With
alpha_online = alpha_offline = 0.4 this is TD3+BC with bc_alpha = 1 / 0.4 = 2.5 up to a constant
factor, which is how the pretraining stage reproduces their offline phase.

After every training episode (phases where the actor learns), with normalised returns
R = (return - ref_min) / (ref_max - ref_min) (their "D4RL normalisation", on a 0-1 scale):

    paper (eq. 2):  alpha += Kp (R_current - R_target) + Kd max(0, R_last - R_current)
                    R_last = the previous episode's R (the first episode: its own R)
    code variant:   alpha += T (Kp (R_avg - R_target) + Kd max(0, R_avg - R_current))
                    R_avg <- 0.05 R_current + 0.95 R_avg   (T = the episode's length)

clipped to [0, alpha_offline]. The ensemble (10 critics, random 2-subset targets), G updates per
env step and the 5% retention are config settings (examples/recipes/redq_adaptive_bc.toml).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from wsdiag.agents.base import ActorCritic, ActorDirection
from wsdiag.agents.bc import bc_error, bc_scale
from wsdiag.agents.td3 import TD3
from wsdiag.agents.td3_bc import TD3BC, td3bc_direction
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError
from wsdiag.mitigations.params_recipes import AdaptiveBCParams
from wsdiag.mitigations.registry import MitigationContext, register
from wsdiag.training.callbacks import Callback, deterministic, evaluate, uniform_random
from wsdiag.training.loop import Loop

PD_VARIANTS = ("paper", "code")
STATE_KEY = "adaptive_bc"


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
    """g / mean|Q| + 2 c alpha_online (a - a_data), alpha_online read from `ctrl` at each call."""

    def direction(
        agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor
    ) -> Tensor:
        c = getattr(agent, "bc_scale", None) or bc_scale(agent.cfg.bc_reduce, agent.act_dim)
        inv = 1.0 / q.abs().mean()
        if isinstance(agent, TD3BC):  # its metrics: actor_loss = inv (-mean Q) + alpha err
            bc = bc_error(actions, batch.actions, c).mean()
            agent.last_bc = {"lambda": inv, "bc_loss": ctrl.alpha * bc}
        return inv * g + 2.0 * ctrl.alpha * c * (actions - batch.actions)

    return direction


def reference_returns(ctx: MitigationContext, p: AdaptiveBCParams) -> tuple[float, float]:
    """(ref_min, ref_max): the parameters, else the dataset's reference scores, else measured:
    uniform random actions and the pretrained policy on the spare env."""
    low, high = p.ref_min, p.ref_max
    pre = ctx.config.pretrain
    if (low is None or high is None) and pre.source == "offline" and pre.dataset:
        from wsdiag.data.minari_io import read_metadata

        meta = read_metadata(pre.dataset)
        low = meta.get("ref_min_score") if low is None else low
        high = meta.get("ref_max_score") if high is None else high
    seed = ctx.seed + 7_919
    if low is None:
        act = uniform_random(ctx.agent.act_dim, seed)
        low = float(evaluate(act, ctx.env, p.ref_episodes, seed).mean())
    if high is None:
        high = float(evaluate(deterministic(ctx.pretrained), ctx.env, p.ref_episodes, seed).mean())
    if not high > low:
        raise WsdiagError(
            f"adaptive_bc: reference returns ref_min = {low:.4g} >= ref_max = {high:.4g}; set "
            "[mitigation.adaptive_bc] ref_min and ref_max"
        )
    return float(low), float(high)


class AdaptiveBCController(Callback):
    """Moves alpha_online after each training episode; records `mitigation/alpha` and
    `mitigation/normalized_return`; keeps its state in loop.state.extra["adaptive_bc"]."""

    def __init__(self, ctx: MitigationContext, ctrl: PDController) -> None:
        self.ctx, self.ctrl = ctx, ctrl
        self.refs: tuple[float, float] | None = None

    def on_start(self, loop: Loop) -> None:
        saved = loop.state.extra.get(STATE_KEY)
        if saved:
            self.ctrl.alpha, self.ctrl.r_last = saved["alpha"], saved["r_last"]
            self.refs = (saved["ref_min"], saved["ref_max"])
        else:
            self.refs = reference_returns(self.ctx, self.ctx.config.mitigation.adaptive_bc)
            self._save(loop)
        loop.recorder.log(loop.step, loop.phase.name, {"mitigation/alpha": self.ctrl.alpha})

    def _save(self, loop: Loop) -> None:
        assert self.refs is not None
        loop.state.extra[STATE_KEY] = {
            "alpha": self.ctrl.alpha,
            "r_last": self.ctrl.r_last,
            "ref_min": self.refs[0],
            "ref_max": self.refs[1],
        }

    def on_episode_end(self, loop: Loop, episode_return: float, length: int) -> None:
        if not loop.phase.update_actor or self.refs is None:
            return
        low, high = self.refs
        r = (episode_return - low) / (high - low)
        self.ctrl.step(r, length)
        self._save(loop)
        rows = {"mitigation/alpha": self.ctrl.alpha, "mitigation/normalized_return": r}
        loop.recorder.log(loop.step, loop.phase.name, rows)


@register("adaptive_bc")
def build_adaptive_bc(ctx: MitigationContext) -> list[Callback]:
    p = ctx.config.mitigation.adaptive_bc
    variant = p.variant
    if variant not in PD_VARIANTS:
        raise WsdiagError(f"mitigation.adaptive_bc.variant = '{variant}' is not one of paper, code")
    agent = ctx.agent
    if not isinstance(agent, TD3):
        raise WsdiagError(
            f"adaptive_bc needs finetune.algo = 'td3' or 'td3bc' (got '{agent.algo}')"
        )
    ctrl = PDController(p.alpha_offline, p.kp, p.kd, p.target, p.alpha_offline, variant)
    hook = adaptive_bc_direction(ctrl)
    if td3bc_direction in agent.actor_directions:
        agent.actor_directions[agent.actor_directions.index(td3bc_direction)] = hook
    else:
        agent.actor_directions.insert(0, hook)
    return [AdaptiveBCController(ctx, ctrl)]
