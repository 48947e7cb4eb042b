"""TD3+BC (Fujimoto & Gu, 2021, "A Minimalist Approach to Offline Reinforcement Learning").

TD3 unchanged (critics, targets, smoothing, delay 2, Polyak 5e-3, learning rates 3e-4) except
the actor loss, which adds behaviour cloning and normalises the Q term:

    L(pi) = mean_s [ -lambda Q(s, pi(s)) + err(pi(s), a) ],   lambda = alpha / mean_s |Q(s, pi(s))|

with alpha = 2.5 (`bc_alpha`), no gradient through lambda, Q the critic TD3's actor maximises
(Q_1), and err the cloning error of `wsdiag.agents.bc` (`bc_reduce`: "mean" over action
dimensions is `F.mse_loss`, as in the authors' code and CORL; "sum" is ||pi(s) - a||^2 as the
paper writes (pi(s) - a)^2 without saying how vectors are reduced).

In the action-space form of the base class (g = -dQ/da arrives at the hook and the surrogate's
gradient w.r.t. a is g / N) the loss above is the direction

    g <- lambda g + 2 c (a - a_data),   c = 1/dim(A) ("mean") or 1 ("sum"),

registered as the first `actor_directions` hook, so that later hooks see the TD3+BC direction.

Left out: the paper's state normalisation (observations standardised by the dataset's mean and
std) is a property of the dataset and the environment wrapper, not of the agent.
"""

from __future__ import annotations

from torch import Tensor

from wsdiag.agents.base import ActorCritic
from wsdiag.agents.bc import bc_error, bc_scale
from wsdiag.agents.td3 import TD3
from wsdiag.config import AgentConfig
from wsdiag.data.buffer import Batch


def td3bc_direction(
    agent: ActorCritic, batch: Batch, actions: Tensor, q: Tensor, g: Tensor
) -> Tensor:
    """The TD3+BC direction lambda g + 2 c (a - a_data); records lambda and the BC loss."""
    assert isinstance(agent, TD3BC)
    lam = agent.bc_alpha / q.abs().mean()
    agent.last_bc = {
        "lambda": lam,
        "bc_loss": bc_error(actions, batch.actions, agent.bc_scale).mean(),
    }
    return lam * g + 2.0 * agent.bc_scale * (actions - batch.actions)


class TD3BC(TD3):
    """TD3 with the normalised BC actor loss; warm-starts the actor of TD3 or DDPG.

    Metrics of actor steps: `actor_loss` (the loss above), `bc_loss` and `lambda`.
    """

    algo = "td3bc"

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        self.bc_alpha = cfg.bc_alpha
        self.bc_scale = bc_scale(cfg.bc_reduce, act_dim)
        self.last_bc: dict[str, Tensor] = {}
        self.actor_directions.append(td3bc_direction)

    def _actor_loss(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        loss, metrics = super()._actor_loss(batch)  # metrics["actor_loss"] = -mean Q
        lam, bc = self.last_bc["lambda"], self.last_bc["bc_loss"]
        metrics |= {"actor_loss": lam * metrics["actor_loss"] + bc, "bc_loss": bc, "lambda": lam}
        return loss, metrics
