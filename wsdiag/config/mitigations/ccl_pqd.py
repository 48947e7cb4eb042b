"""[mitigation.ccl_pqd]: the CCL confidence controller's fields (shared with ccl_bc) and PQD's
(the maths: wsdiag.mitigations.ccl_pqd)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations import pqd
from wsdiag.config.mitigations.base import Table
from wsdiag.config.rules import need, one_of
from wsdiag.config.schema import PERTURB_BOUNDS, OwnParams


@dataclass(frozen=True)
class ConfidenceParams(OwnParams):
    """The CCL confidence controller: P = Q-percentile of behavioural actions -> alpha."""

    alpha_start: float = 1e-2  # alpha while P <= p_start (paper: 1e-2 moderate, 1e-4 strong expert)
    p_start: float = 0.5  # P at which alpha starts to rise (log-linearly) to 1 at P = 1
    every: int = 500  # recompute P every this many critic updates (code: 500)
    n_perturb: int = 500  # perturbed actions per state in the percentile (paper: 500)
    sigma: float = 1.0  # perturbation half-width as a fraction of the action half-range
    bounds: str = "unclipped"  # a + eps off the box (code) | truncate (to the box) | clip
    n_states: int = 256  # behavioural states (a fixed random subset of the probe set) used for P
    states: str = "behaviour"  # "behaviour" (the run's probe set) or "batch" (code: the update's)
    q_reduce: str = "mean"  # "mean" or "min" over the critic ensemble for the percentile


def check_confidence(p: ConfidenceParams, where: str) -> None:
    """The controller's fields; `where` is the mitigation's table."""
    need(0.0 < p.alpha_start <= 1.0, f"{where}.alpha_start must be in (0, 1], got {p.alpha_start}")
    need(0.0 <= p.p_start < 1.0, f"{where}.p_start must be in [0, 1), got {p.p_start}")
    for name in ("every", "n_perturb", "n_states"):
        need(getattr(p, name) >= 1, f"{where}.{name} must be >= 1, got {getattr(p, name)}")
    need(p.sigma > 0, f"{where}.sigma must be > 0, got {p.sigma}")
    one_of(p.states, ("behaviour", "batch"), f"{where}.states")
    one_of(p.q_reduce, ("mean", "min"), f"{where}.q_reduce")
    one_of(p.bounds, PERTURB_BOUNDS, f"{where}.bounds")


@dataclass(frozen=True)
class Params(ConfidenceParams):
    """[mitigation.ccl_pqd] The controller's fields and PQD's."""

    mix: str = "eq7"  # "eq7": (1-alpha) q_pqd + alpha g; "eq12": (1-alpha) q_pqd + alpha (g-q_pqd)
    bc_reduce: str = "sum"  # D = c ||a - a_beta||^2 with c = 1 ("sum") or 1/dim(A) ("mean", code)
    target: str = "pretrained"  # a_beta: "pretrained" policy's action, or "batch" action (code)


def check(p: Params, where: str) -> None:
    check_confidence(p, where)
    pqd.check_projection(p, where)


TABLE = Table("ccl_pqd", Params, check)
