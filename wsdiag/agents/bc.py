"""Behaviour cloning: a deterministic actor regressed onto the dataset's actions.

    L(pi) = mean_s err(pi(s), a),   err = mean_j (pi_j(s) - a_j)^2   (`bc_reduce = "mean"`)
                                     or  sum_j  (pi_j(s) - a_j)^2   (`bc_reduce = "sum"`)

The BC baseline of the TD3+BC paper (Fujimoto & Gu, 2021) and of CORL (`any_percent_bc.py`):
the actor of TD3 (256-256 ReLU, tanh output), Adam at `actor_lr` = 3e-4, batch 256. The two
reductions differ by the constant factor dim(A) only; "mean" is PyTorch's `F.mse_loss`, as in
both reference implementations.
"""

from __future__ import annotations

from torch import Tensor

from wsdiag.agents.base import soft_update
from wsdiag.agents.td3 import TD3
from wsdiag.config import AgentConfig
from wsdiag.config.algorithms import bc
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError


def bc_scale(reduce: str, act_dim: int) -> float:
    """The factor c in err = c * ||pi(s) - a||^2: 1/dim(A) for "mean", 1 for "sum"."""
    if reduce not in bc.BC_REDUCTIONS:
        raise WsdiagError(f"bc_reduce = '{reduce}' is not one of {', '.join(bc.BC_REDUCTIONS)}")
    return 1.0 / act_dim if reduce == "mean" else 1.0


def bc_error(actions: Tensor, data_actions: Tensor, scale: float) -> Tensor:
    """Per state: scale * ||pi(s) - a||^2, [N]."""
    return scale * (actions - data_actions).pow(2).sum(-1)


def bc_gradient(actions: Tensor, targets: Tensor, scale: float) -> Tensor:
    """d/da of scale * ||a - a_beta||^2 per state: 2 scale (a - a_beta), [N, da]."""
    return 2.0 * scale * (actions - targets)


class BC(TD3):
    """Deterministic behaviour cloning; warm-starts the actor of TD3 or DDPG.

    Only the actor learns: `update` takes one Adam step on the loss above every call (no policy
    delay) and returns {"bc_loss", "actor_loss"} (the same number). The critic ensemble and its
    target exist so that the agent keeps the ActorCritic API (checkpoints, probes, `q_values`),
    but they are never trained: their values are those of the random initialisation. The actor
    target is kept equal to the actor, so that a TD3 warm-started from BC gets the cloned
    policy as its target policy too. With `update_actor = False`, `update` does nothing.
    Exploration, when BC acts online, is TD3's: N(0, expl_noise^2) added to pi(s). Neither
    `actor_directions` hooks nor `critic_regularisers` apply (no critic enters the loss).
    """

    algo = "bc"

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        self.bc_scale = bc_scale(self.cfg.params_as(bc.Params).bc_reduce, act_dim)

    def update(self, batch: Batch, update_actor: bool = True) -> dict[str, float]:
        if not update_actor:
            return {}
        loss, metrics = self._actor_loss(batch)
        metrics |= self.actor_step(loss)
        soft_update(self.actor_target, self.actor, 1.0)
        return {k: float(v) for k, v in metrics.items()}

    def _actor_loss(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        loss = bc_error(self.actor(batch.obs), batch.actions, self.bc_scale).mean()
        return loss, {"actor_loss": loss.detach(), "bc_loss": loss.detach()}
