"""TD3+BC (Fujimoto & Gu, 2021, "A Minimalist Approach to Offline Reinforcement Learning").

TD3 unchanged (critics, targets, smoothing, delay 2, Polyak 5e-3, learning rates 3e-4) except
the actor loss, which adds behaviour cloning and normalises the Q term:

    L(pi) = mean_s [ -lambda Q(s, pi(s)) + w(s) err(pi(s), a) ],  lambda = alpha / mean|Q(s, pi(s))|

with alpha = 2.5 (`bc_alpha`), no gradient through lambda, Q the critic TD3's actor maximises
(Q_1), err the cloning error of `wsdiag.agents.bc` (`bc_reduce`: "mean" over action dimensions
is `F.mse_loss`, as in the authors' code and CORL; "sum" is ||pi(s) - a||^2 as the paper writes
(pi(s) - a)^2 without saying how vectors are reduced) and w(s) = 1. A mitigation may supply
another per-transition weight through `bc_weight`: TD3BC++'s critic-weighted relaxation (W_i),
REDQ+AdaptiveBC's controlled alpha_online (with alpha = 1).

In the action-space form of the base class (g = -dQ/da arrives at the hook and the surrogate's
gradient w.r.t. a is g / N) the loss above is the direction

    g <- lambda g + 2 c w(s) (a - a_data),   c = 1/dim(A) ("mean") or 1 ("sum"),

the first `actor_directions` hook, so that later hooks see the TD3+BC direction.

The paper's state normalisation (observations standardised by the dataset's mean and std) is
`normalize_obs`: the statistics are set once from the dataset and saved with the networks.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from wsdiag.agents.base import ActorCritic, Metrics
from wsdiag.agents.bc import bc_error, bc_gradient, bc_scale
from wsdiag.agents.td3 import TD3
from wsdiag.config import AgentConfig
from wsdiag.config.algorithms import td3_bc
from wsdiag.data.buffer import Batch

# (agent, batch) -> (w: a scalar or one weight per transition [N], its metrics), no gradient.
BCWeight = Callable[[ActorCritic, Batch], tuple[float | Tensor, Metrics]]


def unit_weight(agent: ActorCritic, batch: Batch) -> tuple[float, Metrics]:
    """w = 1: TD3+BC itself."""
    return 1.0, {}


def td3bc_direction(
    g: Tensor, q: Tensor, actions: Tensor, data_actions: Tensor, alpha: float, scale: float,
    weight: float | Tensor = 1.0,
) -> tuple[Tensor, Metrics]:  # fmt: skip
    """lambda g + 2 c w (a - a_data) with lambda = alpha / mean|Q|; metrics `lambda` and
    `bc_loss` = mean_s w(s) err(pi(s), a)."""
    lam = alpha / q.abs().mean()
    w = weight.unsqueeze(-1) if isinstance(weight, Tensor) else weight
    bc = (weight * bc_error(actions, data_actions, scale)).mean()
    return lam * g + w * bc_gradient(actions, data_actions, scale), {"lambda": lam, "bc_loss": bc}


class TD3BC(TD3):
    """TD3 with the normalised BC actor loss; warm-starts the actor of TD3 or DDPG.

    Metrics of actor steps: `actor_loss` (the loss above), `bc_loss` and `lambda`.
    """

    algo = "td3bc"

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        p = self.cfg.params_as(td3_bc.Params)
        self.bc_alpha = p.bc_alpha
        self.bc_scale = bc_scale(p.bc_reduce, act_dim)
        self.bc_weight: BCWeight = unit_weight
        self.actor_directions.append(self._td3bc_hook)

    @staticmethod
    def _td3bc_hook(
        agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor
    ) -> tuple[Tensor, Metrics]:
        assert isinstance(agent, TD3BC)
        weight, metrics = agent.bc_weight(agent, batch)
        direction, bc = td3bc_direction(
            g, q, actions, batch.actions, agent.bc_alpha, agent.bc_scale, weight
        )
        return direction, metrics | bc

    def _actor_loss(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        loss, metrics = super()._actor_loss(batch)  # metrics["actor_loss"] = -mean Q
        lam, bc = metrics["lambda"], metrics["bc_loss"]
        return loss, metrics | {"actor_loss": lam * metrics["actor_loss"] + bc}
