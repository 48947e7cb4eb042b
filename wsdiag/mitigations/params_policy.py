"""Parameters of the policy-side mitigations (BC penalties, PQD, CCL-PQD, clipping, lr).

Torch-free on purpose (wsdiag.config imports it). Definitions: docs/mitigations-policy.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

POLICY_NAMES: tuple[str, ...] = (
    "bc_penalty",
    "pqd",
    "ccl_pqd",
    "grad_clip",
    "lr_scale",
    "critic_bc",
    "bcq",
)


@dataclass(frozen=True)
class ConfidenceParams:
    """The CCL confidence controller: P = Q-percentile of behavioural actions -> alpha."""

    alpha_start: float = 1e-2  # alpha while P <= p_start (paper: 1e-2 moderate, 1e-4 strong expert)
    p_start: float = 0.5  # P at which alpha starts to rise (log-linearly) to 1 at P = 1
    every: int = 500  # recompute P every this many critic updates (code: 500)
    n_perturb: int = 500  # perturbed actions per state in the percentile (paper: 500)
    sigma: float = 1.0  # perturbation half-width as a fraction of the action half-range
    n_states: int = 256  # behavioural states (a fixed random subset of the probe set) used for P
    states: str = "behaviour"  # "behaviour" (the run's probe set) or "batch" (code: the update's)
    q_reduce: str = "mean"  # "mean" or "min" over the critic ensemble for the percentile


@dataclass(frozen=True)
class BCPenaltyParams:
    """[mitigation.bc_penalty] BC policy penalty (eq. 6)."""

    alpha: float = 0.1  # penalty weight (eq. 6), or the Q weight for form = "convex"
    form: str = "eq6"  # "eq6": -Q + alpha D; "convex": alpha (-Q) + (1 - alpha) D (code)
    controller: str = "fixed"  # "fixed" alpha, or "confidence": CCL's alpha, convex form (CCL-BC)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


@dataclass(frozen=True)
class PQDParams:
    """[mitigation.pqd] PQD-only ablation: eq. 12 with a fixed alpha."""

    alpha: float = 1e-2  # fixed mixing weight of the policy gradient (0: pure PQD vector)
    mix: str = "eq7"  # "eq7": (1-alpha) q_pqd + alpha g; "eq12": (1-alpha) q_pqd + alpha (g-q_pqd)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


@dataclass(frozen=True)
class CCLPQDParams(ConfidenceParams):
    """[mitigation.ccl_pqd] CCL-PQD: PQD mixed by the confidence controller's alpha."""

    mix: str = "eq7"  # "eq7": (1-alpha) q_pqd + alpha g; "eq12": (1-alpha) q_pqd + alpha (g-q_pqd)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


@dataclass(frozen=True)
class GradClipParams:
    """[mitigation.grad_clip] Actor gradient-norm clipping (section II-D)."""

    max_norm: float = 1.0  # clip the actor's parameter-gradient norm to this threshold


@dataclass(frozen=True)
class LRScaleParams:
    """[mitigation.lr_scale] Actor learning-rate scaling (section II-D)."""

    scale: float = 0.1  # actor lr = scale * finetune.actor_lr


@dataclass(frozen=True)
class CriticBCParams:
    """[mitigation.critic_bc] BC penalty on the critic target (section III-B)."""

    alpha: float = 0.1  # y = r + gamma (1 - d) (Q'(s', a') - alpha D(a_beta(s'), a'))
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean")


@dataclass(frozen=True)
class BCQParams:
    """[mitigation.bcq] Online BCQ: a bounded learned perturbation of the behavioural action."""

    phi: float = 0.05  # |xi| <= phi, in units of the action half-range (BCQ: 0.05)
    hidden: tuple[int, ...] = (400, 300)  # widths of the perturbation network (BCQ: 400-300)


@dataclass(frozen=True)
class PolicyParams:
    """Nested [mitigation.<name>] sections of the policy-side mitigations (a mixin)."""

    bc_penalty: BCPenaltyParams = field(default_factory=BCPenaltyParams)  # BC policy penalty
    pqd: PQDParams = field(default_factory=PQDParams)  # PQD-only ablation
    ccl_pqd: CCLPQDParams = field(default_factory=CCLPQDParams)  # CCL-PQD
    grad_clip: GradClipParams = field(default_factory=GradClipParams)  # actor gradient clipping
    lr_scale: LRScaleParams = field(default_factory=LRScaleParams)  # actor learning-rate scaling
    critic_bc: CriticBCParams = field(default_factory=CriticBCParams)  # BC penalty on the target
    bcq: BCQParams = field(default_factory=BCQParams)  # online BCQ perturbation
