"""BC, TD3+BC, IQL, CQL and Cal-QL: losses on hand-checkable cases, persistence, warm starts."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from tests.conftest import random_batch
from wsdiag.agents import AGENTS, BC, CQL, IQL, SAC, TD3, TD3BC, CalQL, make_agent
from wsdiag.agents.cql import cql_regulariser
from wsdiag.agents.iql import (
    advantage_weights,
    expectile_loss,
    squashed_log_prob,
    tanh_mean_log_prob,
)
from wsdiag.config import ALGORITHMS, AgentConfig
from wsdiag.data.buffer import ORIGIN_OFFLINE, ORIGIN_ONLINE, ORIGIN_PRETRAIN, Batch
from wsdiag.errors import WsdiagError

OBS, ACT = 3, 2
SMALL = AgentConfig(hidden=(16, 16), batch_size=8)
OFFLINE = ("bc", "td3bc", "iql", "cql", "calql")


def _batch(n: int = 8, seed: int = 0, **fields: Tensor) -> Batch:
    return random_batch(n, OBS, ACT, seed, ORIGIN_OFFLINE, **fields)


def _agent(algo: str, **changes: object):
    """An agent of `algo`; `changes` of the common fields and of the algorithm's own keys."""
    spec = ALGORITHMS[algo]
    own = {k: changes.pop(k) for k in list(changes) if k in spec.params.__dataclass_fields__}
    cfg = dataclasses.replace(SMALL, algo=algo, params=spec.params(**own), **changes)
    return make_agent(cfg, OBS, ACT)


def test_registry_builds_every_offline_algorithm() -> None:
    classes = [BC, TD3BC, IQL, CQL, CalQL]
    for algo, cls in zip(OFFLINE, classes, strict=True):
        agent = _agent(algo)
        assert type(agent) is cls and agent.algo == algo


# ----------------------------------------------------------------------------- BC


def test_bc_loss_goes_to_zero_on_a_learnable_dataset_and_critic_stays_put() -> None:
    torch.manual_seed(0)
    agent = _agent("bc", actor_lr=3e-3, hidden=(32, 32))
    batch = _batch(8, seed=1)
    batch = dataclasses.replace(batch, actions=batch.actions * 0.8)  # inside tanh's range
    critic = [p.clone() for p in agent.critic.parameters()]
    first = agent.update(batch)["bc_loss"]
    for _ in range(400):
        last = agent.update(batch)["bc_loss"]
    assert first > 0.05 and last < 1e-3
    assert all(torch.equal(a, b) for a, b in zip(critic, agent.critic.parameters(), strict=True))
    # the actor target follows the actor exactly, so a TD3 warm start gets the clone twice
    obs = batch.obs
    torch.testing.assert_close(agent.actor_target(obs), agent.actor(obs))
    assert agent.update(batch, update_actor=False) == {}


def test_bc_loss_reductions() -> None:
    agent_mean, agent_sum = _agent("bc"), _agent("bc", bc_reduce="sum")
    agent_sum.actor.load_state_dict(agent_mean.actor.state_dict())
    batch = _batch()
    loss_mean, _ = agent_mean._actor_loss(batch)
    loss_sum, _ = agent_sum._actor_loss(batch)
    pi = agent_mean.actor(batch.obs)
    torch.testing.assert_close(loss_mean, ((pi - batch.actions) ** 2).mean())
    torch.testing.assert_close(loss_sum, ((pi - batch.actions) ** 2).sum(-1).mean())
    with pytest.raises(WsdiagError, match="bc_reduce"):
        _agent("bc", bc_reduce="median")


# ----------------------------------------------------------------------------- TD3+BC


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_td3bc_actor_gradient_equals_direct_loss(reduce: str) -> None:
    """The hook reproduces mean_s(-lambda Q(s, pi(s)) + err), lambda = 2.5 / mean|Q|, no grad."""
    torch.manual_seed(0)
    agent = _agent("td3bc", bc_reduce=reduce)
    batch = _batch()
    loss, metrics = agent._actor_loss(batch)
    loss.backward()
    via_hook = [p.grad.clone() for p in agent.actor.parameters()]
    agent.actor.zero_grad()
    a = agent.actor(batch.obs)
    q = agent.critic(batch.obs, a)[0]  # TD3 maximises Q_1
    lam = 2.5 / q.abs().mean().detach()
    err = (a - batch.actions).pow(2)
    bc = err.mean() if reduce == "mean" else err.sum(-1).mean()
    direct = -lam * q.mean() + bc
    direct.backward()
    for got, want in zip(via_hook, agent.actor.parameters(), strict=True):
        torch.testing.assert_close(got, want.grad)
    torch.testing.assert_close(metrics["actor_loss"], direct.detach())
    torch.testing.assert_close(metrics["lambda"], lam)
    torch.testing.assert_close(metrics["bc_loss"], bc.detach())


def test_td3bc_reports_its_metrics_on_actor_steps() -> None:
    agent = _agent("td3bc")
    keys = [set(agent.update(_batch())) for _ in range(2)]
    assert "lambda" not in keys[0] and {"lambda", "bc_loss", "actor_loss"} <= keys[1]


# ----------------------------------------------------------------------------- IQL


def test_expectile_loss_weights_tau_above_and_one_minus_tau_below() -> None:
    diff = torch.tensor([2.0, -2.0, 1.0, 0.0])
    # 0.7 * 4, 0.3 * 4, 0.7 * 1, 0 -> mean
    expected = (0.7 * 4 + 0.3 * 4 + 0.7 * 1 + 0.0) / 4
    assert expectile_loss(diff, 0.7).item() == pytest.approx(expected)
    assert expectile_loss(diff, 0.5).item() == pytest.approx(0.5 * (4 + 4 + 1) / 4)


def test_advantage_weights_are_clipped() -> None:
    adv = torch.tensor([0.0, 1.0, -1.0, 10.0], requires_grad=True)
    w = advantage_weights(adv, beta=3.0, max_weight=100.0)
    torch.testing.assert_close(w, torch.tensor([1.0, math.exp(3.0), math.exp(-3.0), 100.0]))
    assert not w.requires_grad


def test_squashed_log_prob_matches_the_sampler() -> None:
    torch.manual_seed(0)
    agent = _agent("iql")
    obs = torch.randn(64, OBS)
    a, log_prob = agent.actor.sample(obs)
    a, log_prob = a.detach(), log_prob.detach()
    inside = a.abs().max(-1).values < 0.999  # away from atanh's clip
    got = squashed_log_prob(agent.actor, obs, a, 1e-6).detach()
    torch.testing.assert_close(got[inside], log_prob[inside], rtol=1e-3, atol=1e-3)
    edge = squashed_log_prob(agent.actor, obs[:1], torch.ones(1, ACT), 1e-6)
    assert torch.isfinite(edge).all()


@pytest.mark.parametrize("policy", ["tanh_mean", "squashed"])
def test_iql_losses_on_the_agent(policy: str) -> None:
    torch.manual_seed(0)
    agent = _agent("iql", iql_beta=2.0, iql_max_weight=5.0, iql_policy=policy)
    term = torch.tensor([1.0, 0.0, 0.0, 0.0])
    batch = _batch(4, terminated=term, truncated=torch.tensor([0.0, 1.0, 0.0, 0.0]))
    with torch.no_grad():
        v_next = agent.value(batch.next_obs).squeeze(-1)
        q_target = agent.critic_target(batch.obs, batch.actions).min(0).values
        v = agent.value(batch.obs).squeeze(-1)
    # TD target bootstraps on V(s'), not on the policy
    torch.testing.assert_close(agent.td_target(batch), batch.rewards + 0.99 * (1 - term) * v_next)
    v_loss, adv, _ = agent.value_loss(batch)
    torch.testing.assert_close(adv, q_target - v)
    torch.testing.assert_close(v_loss, expectile_loss(q_target - v, 0.7))
    loss, _ = agent._actor_loss(batch)
    w = torch.exp(2.0 * (q_target - v)).clamp(max=5.0)
    if policy == "tanh_mean":
        log_prob = tanh_mean_log_prob(agent.actor, batch.obs, batch.actions)
    else:
        log_prob = squashed_log_prob(agent.actor, batch.obs, batch.actions, 1e-6)
    torch.testing.assert_close(loss, -(w * log_prob).mean())


def test_iql_tanh_mean_policy_is_a_gaussian_in_action_space_with_one_std() -> None:
    """The authors' policy: log N(a; tanh mu(s), sigma^2), sigma one learned value per dimension
    (sigma = 1 at initialisation), whatever the state, before and after updates."""
    torch.manual_seed(0)
    agent = _agent("iql")
    obs = torch.randn(32, OBS)
    mean, std = agent.actor(obs)
    torch.testing.assert_close(std, torch.ones_like(std))
    at_mean = tanh_mean_log_prob(agent.actor, obs, torch.tanh(mean))
    torch.testing.assert_close(at_mean, torch.full((32,), -ACT * 0.5 * math.log(2 * math.pi)))
    for seed in range(20):
        agent.update(_batch(seed=seed))
    _, std = agent.actor(obs)
    assert not torch.allclose(std[0], torch.ones(ACT))  # learned ...
    torch.testing.assert_close(std, std[:1].expand_as(std))  # ... and the same at every state
    assert torch.count_nonzero(agent.actor.head.weight[ACT:]) == 0


def test_iql_tanh_mean_explores_around_tanh_mu_inside_the_bounds() -> None:
    torch.manual_seed(0)
    agent = _agent("iql")
    obs = torch.randn(1, OBS).expand(4000, OBS)
    actions = agent._explore(obs)
    assert actions.abs().max() <= 1.0 and (actions.abs() == 1.0).any()  # sigma = 1: clipped
    with torch.no_grad():
        agent.actor.head.bias[ACT:] = math.log(0.05)
    actions = agent._explore(obs)
    torch.testing.assert_close(actions.mean(0), agent.policy(obs[:1])[0], atol=0.01, rtol=0)
    torch.testing.assert_close(actions.std(0), torch.full((ACT,), 0.05), atol=0.005, rtol=0)


def test_an_expert_at_the_bounds_pins_the_squashed_std_at_its_clamp() -> None:
    """Actions at +-1 with either sign at a state (a bang-bang expert's neighbouring states):
    atanh puts them at +-7.25 and the squashed Gaussian's fitted std runs to e^2 = 7.39; the
    authors' Gaussian in action space fits sigma near 1, the spread of +-1 itself."""
    torch.manual_seed(0)
    obs = torch.randn(1, OBS).expand(64, OBS)
    actions = torch.where(torch.rand(64, ACT) < 0.5, -1.0, 1.0)
    batch = _batch(64, obs=obs, actions=actions)
    stds = {}
    for policy in ("tanh_mean", "squashed"):
        agent = _agent("iql", iql_policy=policy, iql_beta=0.0, actor_lr=1e-2)
        for _ in range(300):
            agent._actor_loss(batch)[0].backward()
            agent.actor_opt.step()
            agent.actor_opt.zero_grad()
        stds[policy] = agent.actor(obs)[1].median().item()
    assert stds["squashed"] > 5.0 and 0.5 < stds["tanh_mean"] < 1.5, stds


def test_iql_update_uses_the_value_before_its_step() -> None:
    torch.manual_seed(0)
    agent = _agent("iql")
    batch = _batch()
    y = agent.td_target(batch)
    q_before = [p.clone() for p in agent.critic.parameters()]
    seen = {}

    def spy(ag: IQL, b: Batch) -> tuple[Tensor, dict]:
        seen["y"] = ag.td_target(b)
        return torch.zeros(()), {}

    agent.critic_regularisers.append(spy)
    agent.update(batch)
    torch.testing.assert_close(seen["y"], y)
    assert not all(
        torch.equal(a, b) for a, b in zip(q_before, agent.critic.parameters(), strict=True)
    )


# ----------------------------------------------------------------------------- CQL and Cal-QL


class ConstantCritic(nn.Module):
    """Q_e(s, a) = c for every critic, state and action."""

    def __init__(self, ensemble: int, c: float) -> None:
        super().__init__()
        self.ensemble, self.c = ensemble, c

    def forward(self, obs: Tensor, act: Tensor, members: Tensor | None = None) -> Tensor:
        return torch.full((self.ensemble, obs.shape[0]), self.c) + 0.0 * act.sum(-1)


def _constant_cql(algo: str, c: float, n: int = 3, **changes: object):
    """A CQL agent whose critic is constant c and whose policy samples have log pi = 0."""
    agent = _agent(algo, cql_n_actions=n, cql_alpha=2.0, **changes)
    agent.critic = ConstantCritic(agent.ensemble, c)
    agent.actor.sample = lambda obs: (torch.zeros(obs.shape[0], ACT), torch.zeros(obs.shape[0]))
    agent.actor.sample_many = lambda obs, n: agent.actor.sample(obs.repeat_interleave(n, 0))
    return agent


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_cql_logsumexp_term_on_a_constant_critic(temperature: float) -> None:
    """ood = T log(n e^{(c + da log 2)/T} + 2 n e^{c/T}); R = alpha * E * mean(ood - c)."""
    c, n = 1.5, 3
    agent = _constant_cql("cql", c, n, cql_temperature=temperature)
    reg, _ = cql_regulariser(agent, _batch())
    t = temperature
    ood = t * math.log(n * math.exp((c + ACT * math.log(2)) / t) + 2 * n * math.exp(c / t))
    assert reg.item() == pytest.approx(2.0 * 2 * (ood - c), rel=1e-5)
    if t == 1.0:  # the closed form of the docstring
        assert ood - c == pytest.approx(math.log(n * 2**ACT + 2 * n))


def test_calql_bound_lifts_only_policy_q_values_below_mc_return() -> None:
    c, n, alpha, e = 1.5, 3, 2.0, 2
    mc = torch.tensor([5.0, -5.0, 5.0, 5.0, float("nan")])
    tags = [ORIGIN_OFFLINE, ORIGIN_OFFLINE, ORIGIN_ONLINE, ORIGIN_PRETRAIN, ORIGIN_OFFLINE]
    batch = _batch(5, mc_return=mc, origin=torch.tensor(tags, dtype=torch.int8))
    unbounded = math.log(n * math.exp(c + ACT * math.log(2)) + 2 * n * math.exp(c)) - c
    bounded = math.log(n * math.exp(c + ACT * math.log(2)) + 2 * n * math.exp(5.0)) - c
    # offline rows only: row 0: mc above Q -> bounded; row 1: mc below Q -> unchanged; rows 2
    # and 3: collected by an agent -> unchanged; row 4: NaN (unknown) -> unchanged
    offline_only = _constant_cql("calql", c, n, calql_bound_online=False)
    cal = cql_regulariser(offline_only, batch)[0].item()
    assert cal == pytest.approx(alpha * e * (bounded + 4 * unbounded) / 5, rel=1e-5)
    plain = cql_regulariser(_constant_cql("cql", c, n), batch)[0].item()
    assert plain == pytest.approx(alpha * e * unbounded, rel=1e-5)
    every = _constant_cql("calql", c, n)  # the default, as the authors' code: every known return
    both, stats = cql_regulariser(every, batch)
    assert both.item() == pytest.approx(alpha * e * (3 * bounded + 2 * unbounded) / 5, rel=1e-5)
    assert stats["calql_bound_rate"].item() == pytest.approx(3 / 5)


def test_cql_regulariser_is_in_the_critic_loss_and_td_target_has_no_entropy() -> None:
    torch.manual_seed(0)
    agent = _agent("cql")
    batch = _batch()
    torch.manual_seed(5)
    loss, q = agent.critic_loss(batch)
    torch.manual_seed(5)
    y = agent.td_target(batch)
    reg, _ = cql_regulariser(agent, batch)
    torch.testing.assert_close(loss, (q - y).pow(2).mean(1).sum() + reg)
    torch.manual_seed(5)
    a_next, _ = agent.actor.sample(batch.next_obs)
    q_next = agent.critic_target(batch.next_obs, a_next).min(0).values
    torch.testing.assert_close(y, batch.rewards + 0.99 * q_next.detach())
    assert agent._next_action(batch.next_obs)[1] is None
    assert _agent("cql", cql_backup_entropy=True)._next_action(batch.next_obs)[1] is not None


# ----------------------------------------------------------------------------- the API


@pytest.mark.parametrize("algo", OFFLINE)
def test_update_returns_finite_floats(algo: str) -> None:
    torch.manual_seed(0)
    agent = _agent(algo)
    for i in range(4):
        metrics = agent.update(_batch(seed=i), update_actor=i != 0)
        assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
    assert agent.actor_updates >= 1
    a = agent.act(np.zeros(OBS, np.float32), explore=True)
    assert a.shape == (ACT,) and np.all(np.abs(a) <= 1.0)


@pytest.mark.parametrize("algo", sorted(AGENTS))
def test_state_dict_round_trip_gives_same_actions(algo: str) -> None:
    """Every agent, online and offline, restores to the same actions, Q-values (and V)."""
    agent = _agent(algo)
    for _ in range(3):
        agent.update(_batch())
    other = _agent(algo)
    other.load_state_dict(agent.state_dict())
    obs = np.random.default_rng(0).normal(size=(4, OBS)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, explore=False), other.act(obs, explore=False))
    obs_t = torch.tensor(obs)
    torch.testing.assert_close(
        agent.q_values(obs_t, torch.zeros(4, ACT)), other.q_values(obs_t, torch.zeros(4, ACT))
    )
    if algo == "iql":
        torch.testing.assert_close(agent.v(obs_t), other.v(obs_t))
        assert "value" in agent.state_dict() and "value_opt" in agent.state_dict()


@pytest.mark.parametrize("algo", ["iql", "cql", "calql"])
def test_sac_warm_starts_from_a_gaussian_offline_actor(algo: str) -> None:
    source = _agent(algo)
    source.update(_batch())
    sac = _agent("sac")
    assert sac.warm_start(source, ["actor", "critic"])[:1] == ["actor"]
    obs = torch.randn(5, OBS)
    torch.testing.assert_close(sac.policy(obs), source.policy(obs))
    torch.testing.assert_close(sac.q_values(obs, obs[:, :ACT]), source.q_values(obs, obs[:, :ACT]))


@pytest.mark.parametrize("algo", ["bc", "td3bc"])
def test_td3_warm_starts_from_a_deterministic_offline_actor(algo: str) -> None:
    source = _agent(algo)
    source.update(_batch())
    source.update(_batch())
    td3 = _agent("td3")
    assert td3.warm_start(source, ["actor"]) == ["actor", "actor_target"]
    obs = torch.randn(5, OBS)
    torch.testing.assert_close(td3.policy(obs), source.policy(obs))
    torch.testing.assert_close(td3.actor_target(obs), source.actor_target(obs))


def test_mismatched_actor_types_are_clear_errors() -> None:
    with pytest.raises(WsdiagError, match="cannot warm-start a td3 actor from a iql actor"):
        _agent("td3").warm_start(_agent("iql"), ["actor"])
    with pytest.raises(WsdiagError, match="cannot warm-start a sac actor from a td3bc actor"):
        _agent("sac").warm_start(_agent("td3bc"), ["actor"])


def test_iql_from_iql_critic_warm_start_brings_the_value_network() -> None:
    source, fresh = _agent("iql"), _agent("iql")
    source.update(_batch())
    loaded = fresh.warm_start(source, ["critic"], optimizers=True)
    assert "value" in loaded and "value_opt" in loaded
    obs = torch.randn(5, OBS)
    torch.testing.assert_close(fresh.v(obs), source.v(obs))


def test_agents_subclass_their_online_counterparts() -> None:
    assert isinstance(_agent("td3bc"), TD3) and isinstance(_agent("bc"), TD3)
    assert isinstance(_agent("cql"), SAC) and isinstance(_agent("calql"), CQL)
