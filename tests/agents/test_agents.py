"""TD3 / DDPG / SAC: targets, losses and the action-space actor gradient on hand-checkable cases."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from torch import Tensor

from tests.conftest import random_batch
from wsdiag.agents import DDPG, SAC, TD3, make_agent
from wsdiag.config import AgentConfig
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError

OBS, ACT = 3, 2
SMALL = AgentConfig(hidden=(16, 16), batch_size=8)


def _batch(n: int = 8, seed: int = 0, **fields: Tensor) -> Batch:
    return random_batch(n, OBS, ACT, seed, 0, **fields)


def _agent(algo: str, **changes: object):
    return make_agent(dataclasses.replace(SMALL, algo=algo, **changes), OBS, ACT)


def test_td_target_termination_zeroes_bootstrap_truncation_does_not() -> None:
    torch.manual_seed(0)
    agent = _agent("td3", policy_noise=0.0)
    term = torch.tensor([1.0, 0.0, 0.0, 0.0])
    trunc = torch.tensor([0.0, 1.0, 0.0, 1.0])
    batch = _batch(4, terminated=term, truncated=trunc)
    y = agent.td_target(batch)
    with torch.no_grad():
        a_next = agent.actor_target(batch.next_obs)
        q_next = agent.critic_target(batch.next_obs, a_next).min(0).values
    expected = batch.rewards + 0.99 * (1 - term) * q_next
    torch.testing.assert_close(y, expected)
    assert y[0] == batch.rewards[0]  # terminal: no bootstrap
    assert y[1] != batch.rewards[1]  # time-limit truncation: bootstraps


def test_td3_target_smoothing_noise_is_clipped() -> None:
    torch.manual_seed(0)
    agent = _agent("td3", policy_noise=10.0, noise_clip=0.05)
    obs = torch.randn(500, OBS)
    a, _ = agent._next_action(obs)
    base = agent.actor_target(obs).detach()
    assert (a - base).abs().max() <= 0.05 + 1e-6


def test_redq_target_is_min_over_a_random_subset() -> None:
    torch.manual_seed(0)
    agent = _agent("td3", ensemble=5, target_subset=2, policy_noise=0.0)
    batch = _batch(6)
    drawn = {tuple(sorted(agent._target_members().tolist())) for _ in range(200)}
    assert all(len(set(m)) == 2 and max(m) < 5 for m in drawn) and len(drawn) == 10
    members = torch.tensor([4, 1])
    agent._target_members = lambda: members
    y = agent.td_target(batch)
    with torch.no_grad():
        q_all = agent.critic_target(batch.next_obs, agent.actor_target(batch.next_obs))
    expected = batch.rewards + 0.99 * q_all[members].min(0).values
    torch.testing.assert_close(y, expected)


def test_critic_loss_is_sum_over_critics_of_mse() -> None:
    agent = _agent("td3")
    batch = _batch()
    torch.manual_seed(3)
    loss, q = agent.critic_loss(batch)
    torch.manual_seed(3)
    y = agent.td_target(batch)
    expected = sum(((q[e] - y) ** 2).mean() for e in range(q.shape[0]))
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("actor_q", ["first", "mean", "min"])
def test_td3_action_space_gradient_equals_direct_loss(actor_q: str) -> None:
    """Back-propagating g = -dQ/da through pi gives the gradient of -mean Q(s, pi(s))."""
    torch.manual_seed(0)
    agent = _agent("td3", ensemble=3, actor_q=actor_q)
    batch = _batch()
    loss, _ = agent._actor_loss(batch)
    loss.backward()
    via_direction = [p.grad.clone() for p in agent.actor.parameters()]
    agent.actor.zero_grad()
    q = agent.critic(batch.obs, agent.actor(batch.obs))
    q = {"first": q[0], "mean": q.mean(0), "min": q.min(0).values}[actor_q]
    (-q.mean()).backward()
    for got, want in zip(via_direction, agent.actor.parameters(), strict=True):
        torch.testing.assert_close(got, want.grad)


def test_sac_actor_gradient_equals_direct_loss() -> None:
    torch.manual_seed(0)
    agent = _agent("sac", init_alpha=0.3)
    batch = _batch()
    torch.manual_seed(11)
    loss, metrics = agent._actor_loss(batch)
    loss.backward()
    via_direction = [p.grad.clone() for p in agent.actor.parameters()]
    agent.actor.zero_grad()
    torch.manual_seed(11)
    a, log_prob = agent.actor.sample(batch.obs)
    direct = (0.3 * log_prob - agent.critic(batch.obs, a).min(0).values).mean()
    direct.backward()
    torch.testing.assert_close(metrics["actor_loss"], direct.detach())
    for got, want in zip(via_direction, agent.actor.parameters(), strict=True):
        torch.testing.assert_close(got, want.grad, rtol=1e-4, atol=1e-6)


def test_sac_temperature_falls_when_entropy_exceeds_target() -> None:
    agent = _agent("sac", target_entropy=-50.0)  # any Gaussian here has entropy far above -50
    before = float(agent.alpha)
    for _ in range(5):
        agent.update(_batch())
    assert float(agent.alpha) < before


def test_policy_delay_and_update_actor_flag() -> None:
    agent = _agent("td3")
    assert agent.policy_delay == 2
    keys = [set(agent.update(_batch())) for _ in range(4)]
    assert "actor_loss" not in keys[0] and "actor_loss" in keys[1]
    assert agent.actor_updates == 2 and agent.critic_updates == 4
    frozen = [p.clone() for p in agent.actor.parameters()]
    for _ in range(4):
        agent.update(_batch(), update_actor=False)
    assert all(torch.equal(a, b) for a, b in zip(frozen, agent.actor.parameters(), strict=True))


def test_ddpg_is_single_critic_without_smoothing_or_delay() -> None:
    agent = _agent("ddpg")
    assert isinstance(agent, DDPG) and agent.ensemble == 1 and agent.policy_delay == 1
    obs = torch.randn(5, OBS)
    torch.testing.assert_close(agent._next_action(obs)[0], agent.actor_target(obs))


def test_warm_start_copies_only_the_parts_asked_for() -> None:
    source, fresh = _agent("td3"), _agent("td3")
    loaded = fresh.warm_start(source, ["actor"])
    assert loaded == ["actor", "actor_target"]
    obs = torch.randn(4, OBS)
    torch.testing.assert_close(fresh.policy(obs), source.policy(obs))
    assert not torch.equal(
        fresh.q_values(obs, fresh.policy(obs)), source.q_values(obs, source.policy(obs))
    )
    fresh.warm_start(source, ["critic"], optimizers=True)
    torch.testing.assert_close(
        fresh.q_values(obs, obs[:, :ACT]), source.q_values(obs, obs[:, :ACT])
    )


def test_warm_started_adam_keeps_moments_but_not_the_pretraining_learning_rate() -> None:
    source = _agent("sac", actor_lr=3e-4, critic_lr=3e-4, alpha_lr=3e-4)
    batch = _batch(8)
    source.update(batch)
    fresh = _agent("sac", actor_lr=1e-4, critic_lr=2e-4, alpha_lr=5e-5)
    fresh.warm_start(source, ["actor", "critic"], optimizers=True)
    for name, lr in (("actor_opt", 1e-4), ("critic_opt", 2e-4), ("alpha_opt", 5e-5)):
        own, theirs = getattr(fresh, name), getattr(source, name)
        assert own.param_groups[0]["lr"] == lr
        first = next(iter(theirs.state.values()))
        copied = own.state[own.param_groups[0]["params"][0]]
        torch.testing.assert_close(copied["exp_avg"], first["exp_avg"])
        assert float(copied["step"]) == float(first["step"]) > 0


def test_warm_start_incompatibilities_are_clear_errors() -> None:
    with pytest.raises(WsdiagError, match="cannot warm-start a sac actor from a td3"):
        _agent("sac").warm_start(_agent("td3"), ["actor"])
    with pytest.raises(WsdiagError, match="incompatible shapes"):
        _agent("td3", hidden=(8, 8)).warm_start(_agent("td3"), ["actor"])
    with pytest.raises(WsdiagError, match="incompatible shapes"):
        _agent("td3", ensemble=4).warm_start(_agent("td3"), ["critic"])


def test_agents_are_the_right_classes() -> None:
    assert isinstance(_agent("td3"), TD3) and isinstance(_agent("sac"), SAC)


def test_actor_direction_hook_rewrites_the_gradient() -> None:
    """A hook adding 2 (a - a_data) turns the loss into -Q + ||a - a_data||^2 (TD3+BC's shape)."""
    torch.manual_seed(0)
    agent = _agent("td3")
    batch = _batch()
    agent.actor_directions.append(lambda ag, b, a, q, g: (g + 2 * (a - b.actions), {}))
    loss, _ = agent._actor_loss(batch)
    loss.backward()
    via_hook = [p.grad.clone() for p in agent.actor.parameters()]
    agent.actor.zero_grad()
    a = agent.actor(batch.obs)
    direct = (-agent.critic(batch.obs, a)[0] + (a - batch.actions).pow(2).sum(-1)).mean()
    direct.backward()
    for got, want in zip(via_hook, agent.actor.parameters(), strict=True):
        torch.testing.assert_close(got, want.grad)


def test_sac_without_entropy_backup_has_the_plain_td_target() -> None:
    import dataclasses

    from tests.conftest import random_batch
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig

    torch.manual_seed(0)
    cfg = AgentConfig(algo="sac", hidden=(16,), backup_entropy=False, init_alpha=5.0)
    agent, batch = make_agent(cfg, 3, 2), random_batch(32, 3, 2)
    torch.manual_seed(1)
    y = agent.td_target(batch)
    with_entropy = make_agent(dataclasses.replace(cfg, backup_entropy=True), 3, 2)
    with_entropy.load_state_dict(agent.state_dict())
    torch.manual_seed(1)
    bonus = with_entropy.td_target(batch) - y  # gamma (1 - d) (-alpha log pi(a'|s'))
    torch.manual_seed(1)
    a, log_prob = agent.actor.sample(batch.next_obs)
    q = agent.critic_target(batch.next_obs, a).min(0).values
    torch.testing.assert_close(y, batch.rewards + agent.gamma * (1 - batch.terminated) * q)
    torch.testing.assert_close(bonus, agent.gamma * (1 - batch.terminated) * -5.0 * log_prob)


def test_union_actor_batch_steps_the_actor_once_on_every_critic_batch(tmp_path) -> None:
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig
    from wsdiag.core import Actor, Phase
    from wsdiag.data.buffer import ReplayBuffer
    from wsdiag.envs import make_env
    from wsdiag.training.loop import Loop
    from wsdiag.training.recorder import Recorder

    seen = []
    cfg = AgentConfig(algo="sac", hidden=(16,), batch_size=8, utd=4, actor_batch="union")
    agent = make_agent(cfg, 3, 1)
    real = agent._actor_loss
    agent._actor_loss = lambda batch: (seen.append(len(batch)), real(batch))[1]
    phases = [Phase("p", 0, 40, Actor.RANDOM, update_critic=True, update_actor=True)]
    loop = Loop(stage="pretrain", env=make_env("Pendulum-v1"), agent=agent,
                buffer=ReplayBuffer(100, 3, 1), recorder=Recorder(tmp_path), phases=phases,
                utd=4, batch_size=8, seed=0)  # fmt: skip
    loop.run()
    steps_with_updates = 40 - 8 + 1  # updates start once the buffer holds one batch
    assert agent.critic_updates == 4 * steps_with_updates
    assert seen == [32] * steps_with_updates  # one actor step per env step, on 4 x 8 rows


def _scale_critic(agent: TD3, factor: float) -> None:
    """Q -> factor * Q for every member: the last layer's weights and biases scaled."""
    last = [m for m in agent.critic.modules() if hasattr(m, "weight")][-1]
    with torch.no_grad():
        last.weight.mul_(factor)
        last.bias.mul_(factor)


def test_a_steeper_critic_moves_a_fresh_adam_actor_by_the_same_step() -> None:
    # Adam's step m / (sqrt(v) + eps) is invariant to the gradient's scale where |g| >> eps: a
    # critic ten times steeper everywhere (Q -> 10 Q, so dQ/da -> 10 dQ/da) moves the actor as
    # far as the critic itself does (docs/diagnosis.md, the steep-critic link).
    torch.manual_seed(0)
    agent = _agent("td3")
    _scale_critic(agent, 100.0)  # gradients far above eps = 1e-8
    steep, start = copy.deepcopy(agent), copy.deepcopy(agent)
    _scale_critic(steep, 10.0)
    for seed in range(20):
        batch = _batch(64, seed)
        agent.update_actor(batch)
        steep.update_actor(batch)

    def distance(a: TD3, b: TD3) -> Tensor:
        pairs = zip(a.actor.parameters(), b.actor.parameters(), strict=True)
        return torch.sqrt(sum(((p - q) ** 2).sum() for p, q in pairs))

    moved = distance(agent, start)
    assert moved > 1e-3
    assert distance(agent, steep) < 1e-3 * moved  # about 1e-5 here
