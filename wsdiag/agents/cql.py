"""CQL (Kumar et al., 2020) and Cal-QL (Nakamoto et al., 2023) on top of SAC.

Both are SAC (actor, temperature, critics and targets unchanged) with one critic regulariser,
CQL(H) with the importance-sampled logsumexp of the paper's Appendix F (the authors' code,
`min_q_version = 3`, and CORL): for each critic e and state s of the batch, with n actions of
each kind,

    a_rand ~ U([-1, 1]^da),   a_cur ~ pi(.|s),   a_next ~ pi(.|s')      (n each, no gradient)
    ood_e(s) = T logsumexp_{3n terms} { (Q_e(s, a_rand) - log U(a_rand)) / T,
                                        (Q_e(s, a_cur)  - log pi(a_cur|s)) / T,
                                        (Q_e(s, a_next) - log pi(a_next|s')) / T }
    R = alpha * sum_e mean_s [ ood_e(s) - Q_e(s, a_data) ],   log U = -da log 2,

added to the TD loss sum_e mean_s (Q_e - y)^2. No 1/(3n) inside the logarithm: the constant
log(3n) moves R, not its gradient, and matches the reference code (for a critic constant at c
and log pi = 0: ood = c + log(n 2^da + 2n)).

Cal-QL bounds the Q-values of the policy's actions from below by the Monte-Carlo return-to-go
of the batch transition before they enter the logsumexp:
Q_e(s, a_cur), Q_e(s, a_next) <- max(Q_e(s, a_.), mc_return(s, a_data)); all else as CQL.

Defaults (MuJoCo locomotion): alpha = 10 (`cql_alpha`; CORL's MuJoCo configs; the authors'
README: 5 or 10 without the Lagrange form), n = 10 (`cql_n_actions`), T = 1
(`cql_temperature`), no entropy term in the TD target (`cql_backup_entropy = False`: the
authors' `deterministic_backup = True`, "as per Equation 3", and CORL), the learned SAC
temperature with target entropy -dim(A), Adam 3e-4 for critics and actor (the authors' README:
policy_lr 1e-4 or 3e-4 for Gym MuJoCo; CORL uses 3e-5: set `actor_lr` to reproduce it).
Cal-QL's published configs are for AntMaze/Adroit/Kitchen only, so it keeps CQL's MuJoCo
defaults here.

Choices and omissions:
* The Lagrange form of CQL (a learned alpha' with a target action gap), the max-Q target
  backup, the initial BC steps and the clipping of the gap are left out (their reference
  defaults for MuJoCo are off).
* CQL's reference networks (3 hidden layers, orthogonal initialisation, log-std offset) are
  replaced by SAC's, so that a CQL actor warm-starts SAC exactly.
* Cal-QL: every transition whose mc_return is known is bounded, as in the authors' code
  (nakamotoo/Cal-QL: its sampler computes the return-to-go of each collected trajectory, and
  the bound applies to offline and online rows alike). Datasets bring their returns; the
  training loop writes those of collected transitions when their episode ends, and until then
  mc_return is NaN, never a bound. `calql_bound_online = false` bounds only the rows tagged
  ORIGIN_OFFLINE; CORL instead switches the bound off for every transition once fine-tuning
  starts.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from wsdiag.agents.base import ActorCritic, Metrics
from wsdiag.agents.sac import SAC
from wsdiag.config import AgentConfig
from wsdiag.config.algorithms import cql
from wsdiag.data.buffer import ORIGIN_OFFLINE, Batch


def cql_regulariser(agent: ActorCritic, batch: Batch) -> tuple[Tensor, Metrics]:
    """alpha * sum_e mean_s [ood_e(s) - Q_e(s, a_data)] (Cal-QL: policy Q-values bounded)."""
    assert isinstance(agent, CQL)
    p = agent.params
    n, temp = p.cql_n_actions, p.cql_temperature
    num, da = batch.actions.shape
    obs_n = batch.obs.repeat_interleave(n, 0)
    with torch.no_grad():
        a_rand = torch.rand(num * n, da, device=batch.actions.device) * 2.0 - 1.0
        a_cur, logp_cur = agent.actor.sample_many(batch.obs, n)
        a_next, logp_next = agent.actor.sample_many(batch.next_obs, n)
    # one batched critic call: 3 n sampled actions per state, then the dataset actions
    q = agent.critic(
        torch.cat([obs_n, obs_n, obs_n, batch.obs]),
        torch.cat([a_rand, a_cur, a_next, batch.actions]),
    )
    e = q.shape[0]
    q_data = q[:, 3 * num * n :]
    q_rand, q_cur, q_next = q[:, : 3 * num * n].reshape(e, 3, num, n).unbind(1)
    stats: dict[str, Tensor] = {}
    bound = agent.policy_q_bound(batch)
    if bound is not None:
        bound = bound[:, None]
        stats["calql_bound_rate"] = (torch.cat([q_cur, q_next], -1) < bound).float().mean()
        q_cur, q_next = torch.maximum(q_cur, bound), torch.maximum(q_next, bound)
    log_uniform = -da * math.log(2.0)
    terms = torch.cat(
        [q_rand - log_uniform, q_cur - logp_cur.view(num, n), q_next - logp_next.view(num, n)],
        dim=-1,
    )
    ood = temp * torch.logsumexp(terms / temp, dim=-1)  # [E, N]
    gap = (ood - q_data).mean(1)  # [E]
    loss = p.cql_alpha * gap.sum()
    stats |= {"cql_loss": loss, "cql_gap": gap.mean(), "cql_q_rand": q_rand.mean()}
    return loss, {k: v.detach() for k, v in stats.items()}


class CQL(SAC):
    """SAC with the CQL(H) critic regulariser; warm-starts the actor of SAC.

    Extra metrics: `cql_loss` (R), `cql_gap` (mean over critics and states of ood - Q(s, a)),
    `cql_q_rand` (mean Q of the uniform actions); Cal-QL adds `calql_bound_rate`, the fraction
    of policy-action Q-values below their bound. A SAC agent warm-started from CQL takes its
    temperature too, as from SAC.
    """

    algo = "cql"

    def __init__(self, cfg: AgentConfig, obs_dim: int, act_dim: int, device: str = "cpu") -> None:
        super().__init__(cfg, obs_dim, act_dim, device)
        self.params = self.cfg.params_as(cql.Params)
        self.critic_regularisers.append(cql_regulariser)

    def policy_q_bound(self, batch: Batch) -> Tensor | None:
        """Lower bound on the policy actions' Q-values per state [N]; CQL has none."""
        return None

    def backup_entropy(self) -> bool:
        return self.params.cql_backup_entropy


class CalQL(CQL):
    """Cal-QL: CQL whose policy-action Q-values are bounded below by the Monte-Carlo return."""

    algo = "calql"

    def policy_q_bound(self, batch: Batch) -> Tensor:
        """mc_return where it is known, -inf elsewhere (max(Q, -inf) = Q: no bound)."""
        known = torch.isfinite(batch.mc_return)
        if not self.cfg.params_as(cql.CalQLParams).calql_bound_online:
            known = known & (batch.origin == ORIGIN_OFFLINE)
        return torch.where(known, batch.mc_return, torch.full_like(batch.mc_return, -math.inf))
