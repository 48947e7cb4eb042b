"""Probes on analytic critics and hand-made data, where the right answer is known exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wsdiag.probes import (
    ProbeSet,
    action_divergence,
    action_grad_norm,
    frozen_critic_eval,
    gaussian_kl,
    perturb_actions,
    perturbed_q,
    policy_drift,
    policy_grad_norm,
    q_by_label,
    q_percentile,
    q_softmax_kl,
    td_errors,
)
from wsdiag.probes.gradients import grad_cosine, pooled_grad_cosine

A_STAR = torch.tensor([0.3, -0.2])


def peaked(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Q(s, a) = -||a - a*||^2: a* is the global maximum."""
    return -((actions - A_STAR) ** 2).sum(-1) + 0 * states.sum(-1)


def valley(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return -peaked(states, actions)


def test_q_percentile_is_one_at_the_maximum_and_zero_at_the_minimum() -> None:
    states = torch.randn(16, 3)
    actions = A_STAR.expand(16, 2)
    gen = torch.Generator().manual_seed(0)
    for mode in ("local", "uniform"):
        assert (
            q_percentile(peaked, states, actions, n_perturb=200, mode=mode, generator=gen).min()
            == 1.0
        )
        assert (
            q_percentile(valley, states, actions, n_perturb=200, mode=mode, generator=gen).max()
            == 0.0
        )


def test_q_percentile_of_a_linear_critic_at_the_centre_is_one_half() -> None:
    """A linear critic at the centre of a symmetric box: half the perturbations are better."""
    w = torch.tensor([1.0, -2.0])
    p = q_percentile(
        lambda s, a: a @ w,
        torch.zeros(400, 1),
        torch.zeros(400, 2),
        n_perturb=500,
        sigma=0.5,
        generator=torch.Generator().manual_seed(1),
    )
    assert abs(p.mean() - 0.5) < 0.01


def test_perturbations_respect_sigma_and_bounds() -> None:
    actions = torch.tensor([[0.95, 0.0]])
    a = perturb_actions(actions, 1000, sigma=0.1, generator=torch.Generator().manual_seed(0))
    assert a.shape == (1, 1000, 2)
    assert a.max() <= 1.0 and (a - actions[:, None]).abs().max() <= 0.1 + 1e-6
    u = perturb_actions(actions, 1000, mode="uniform", low=-0.5, high=0.5)
    assert u.min() >= -0.5 and u.max() <= 0.5 and u.std() > 0.2


def _increasing(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Q(s, a) = a_1 on a 1-D box: maximal at a = +1, minimal at a = -1."""
    return actions[:, 0] + 0 * states.sum(-1)


@pytest.mark.parametrize(
    ("critic", "a", "bounds", "want"),
    [
        (_increasing, 1.0, "truncate", 1.0),  # maximal at the bound: every action is worse
        (_increasing, -1.0, "truncate", 0.0),  # minimal at the bound: every action is better
        (lambda s, a: 0 * a[:, 0], 1.0, "truncate", 0.5),  # flat: all ties, counted half
        (lambda s, a: 0 * a[:, 0], 1.0, "unclipped", 0.5),
        (_increasing, 1.0, "clip", 0.5),  # the old bias: half the draws tie on the bound
        (_increasing, 1.0, "unclipped", 0.5),  # the authors' a + eps, valued off the box
    ],
)
def test_q_percentile_at_the_action_bounds(critic, a: float, bounds: str, want: float) -> None:
    p = q_percentile(
        critic,
        torch.zeros(200, 1),
        torch.full((200, 1), a),
        n_perturb=500,
        bounds=bounds,
        generator=torch.Generator().manual_seed(0),
    )
    assert p.mean() == pytest.approx(want, abs=0.01), p.mean()


def test_truncated_perturbations_fill_the_neighbourhood_inside_the_box() -> None:
    actions = torch.tensor([[1.0, 0.0, -0.9]])
    a = perturb_actions(actions, 20_000, sigma=0.5, generator=torch.Generator().manual_seed(0))[0]
    assert a.max() <= 1.0 and a.min() >= -1.0
    assert (a[:, 0] == 1.0).float().mean() < 1e-3  # no pile-up on the bound
    assert a[:, 0].min() >= 0.5 - 1e-6 and abs(a[:, 0].mean().item() - 0.75) < 0.01
    assert abs(a[:, 1].mean().item()) < 0.01 and a[:, 1].abs().max() <= 0.5 + 1e-6
    assert abs(a[:, 2].mean().item() - (-1.0 - 0.4) / 2) < 0.01  # U[-1, -0.4]


def test_perturbed_q_returns_the_landscape() -> None:
    out = perturbed_q(peaked, torch.zeros(3, 1), A_STAR.expand(3, 2), n_perturb=50)
    assert out["perturbed"].shape == (3, 50, 2) and out["q"].shape == (3, 50)
    assert np.allclose(out["q_ref"], 0.0) and (out["percentile"] == 1.0).all()


def test_action_gradient_of_a_linear_critic_is_its_weight_norm() -> None:
    w = torch.tensor([3.0, -4.0])
    norms = action_grad_norm(lambda s, a: a @ w + s.sum(-1), torch.randn(10, 3), torch.randn(10, 2))
    np.testing.assert_allclose(norms, 5.0, rtol=1e-6)


def test_gradient_cosines_per_pair_and_pooled() -> None:
    """Q = -(a - 0.3)^2 against a reference -(a - 0.35)^2: between the two optima the gradients
    are tiny and opposed (cos -1), elsewhere large and aligned (+1). The mean per-pair cosine
    reads 1/3; the pooled one weights the pairs by their gradients and reads near 1."""
    actions = torch.tensor([[0.32], [0.9], [-0.8]])
    states = torch.zeros(3, 2)
    q = lambda s, a: -((a[:, 0] - 0.3) ** 2)  # noqa: E731
    ref = lambda s, a: -((a[:, 0] - 0.35) ** 2)  # noqa: E731
    np.testing.assert_allclose(grad_cosine(q, ref, states, actions), [-1.0, 1.0, 1.0], atol=1e-6)
    g, h = -2 * (actions[:, 0] - 0.3), -2 * (actions[:, 0] - 0.35)
    want = float((g * h).sum() / (g.norm() * h.norm()))
    assert pooled_grad_cosine(q, ref, states, actions) == pytest.approx(want, rel=1e-6)
    assert want > 0.99
    assert pooled_grad_cosine(q, lambda s, a: 0 * a[:, 0], states, actions) == 0.0


def test_policy_gradient_norm_by_hand() -> None:
    """pi(s) = theta * s (scalar action), Q = 2a: d mean Q / d theta = 2 mean(s)."""
    actor = torch.nn.Linear(1, 1, bias=False)
    states = torch.tensor([[1.0], [3.0]])
    norm = policy_grad_norm(lambda s, a: 2 * a[:, 0], actor, actor, states)
    assert norm == pytest.approx(4.0)
    assert actor.weight.grad is None


def test_gaussian_kl_closed_form() -> None:
    mu_p, std_p = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.5]])
    mu_q, std_q = torch.tensor([[1.0, 1.0]]), torch.tensor([[2.0, 0.5]])
    expected = (np.log(2.0) + (1 + 1) / 8 - 0.5) + 0.0
    np.testing.assert_allclose(gaussian_kl(mu_p, std_p, mu_q, std_q), [expected], rtol=1e-9)
    np.testing.assert_allclose(gaussian_kl(mu_p, std_p, mu_p, std_p), [0.0], atol=1e-12)


def test_policy_drift_and_q_softmax_kl() -> None:
    dist = torch.distributions.Normal(torch.zeros(4, 2), torch.full((4, 2), 0.1))
    shifted = torch.distributions.Normal(torch.full((4, 2), 0.1), torch.full((4, 2), 0.1))
    drift = policy_drift(dist, shifted, torch.zeros(4, 2), torch.full((4, 2), 0.1))
    np.testing.assert_allclose(drift["kl"], 2 * 0.01 / (2 * 0.01), rtol=1e-6)  # sum over 2 dims
    np.testing.assert_allclose(drift["action_mse"], 0.02, rtol=1e-6)
    same = q_softmax_kl(peaked, peaked, torch.zeros(4, 1), dist, shifted, n_actions=10)
    np.testing.assert_allclose(same, 0.0, atol=1e-12)
    differ = q_softmax_kl(peaked, valley, torch.zeros(4, 1), dist, shifted, n_actions=10)
    assert (differ > 0).all()


def test_action_divergence_percentile_by_label() -> None:
    states = torch.zeros(6, 1)
    actions = torch.tensor([[0.0], [1.0], [2.0], [0.0], [0.0], [3.0]])
    labels = np.array(["expert", "expert", "expert", "non-expert", "non-expert", "non-expert"])
    out = action_divergence(lambda s: torch.zeros(len(s), 1), states, actions, labels, q=50)
    assert out == {"expert": 1.0, "non-expert": 0.0}
    out = action_divergence(lambda s: torch.zeros(len(s), 1), states, actions, labels, q=100)
    assert out == {"expert": 4.0, "non-expert": 9.0}


def test_td_error_by_hand_termination_vs_truncation() -> None:
    """Q = sum(a), Q_target = 10 * s, pi(s') = 0: y = r + gamma (1 - term) 10 s'."""
    q_fn = lambda s, a: a.sum(-1)  # noqa: E731
    q_target = lambda s, a: 10 * s[:, 0]  # noqa: E731
    out = td_errors(
        q_fn, q_target, lambda s: torch.zeros(len(s), 1),
        states=torch.zeros(2, 1), actions=torch.tensor([[1.0], [2.0]]),
        rewards=torch.tensor([0.5, 0.5]), next_states=torch.tensor([[1.0], [1.0]]),
        terminated=torch.tensor([1.0, 0.0]), gamma=0.9,
    )  # fmt: skip
    np.testing.assert_allclose(out["td_error"], [abs(1 - 0.5), abs(2 - (0.5 + 9.0))])
    np.testing.assert_allclose(out["q"], [1.0, 2.0])


def test_frozen_views_and_q_by_label() -> None:
    q_fn = lambda s, a: s[:, 0] + a[:, 0]  # noqa: E731
    views = frozen_critic_eval(
        q_fn, lambda s: torch.zeros(len(s), 1), lambda s: torch.ones(len(s), 1),
        torch.zeros(3, 1), torch.full((2, 1), 5.0),
    )  # fmt: skip
    assert views["sbeta_pibeta"].tolist() == [0, 0, 0] and views["sbeta_piu"].tolist() == [1, 1, 1]
    assert views["su_pibeta"].tolist() == [5, 5] and views["su_piu"].tolist() == [6, 6]
    labels = np.array(["expert", "non-expert", "expert"])
    out = q_by_label(q_fn, torch.zeros(3, 1), torch.tensor([[1.0], [2.0], [3.0]]), labels)
    assert out["expert"].tolist() == [1, 3] and out["non-expert"].tolist() == [2]
    assert out["random"].shape == (3,) and np.abs(out["random"]).max() <= 1


def test_probe_set_round_trip(tmp_path) -> None:
    ps = ProbeSet(
        np.ones((3, 2), np.float32),
        np.zeros((3, 1), np.float32),
        np.arange(3, dtype=np.float32),
        np.ones((3, 2), np.float32),
        np.zeros(3, np.float32),
        np.array(["a", "b", "a"]),
    )
    ps.save(tmp_path / "p.npz")
    back = ProbeSet.load(tmp_path / "p.npz")
    assert back.labels.tolist() == ["a", "b", "a"] and np.array_equal(back.rewards, ps.rewards)


def test_frozen_critic_protocol_trains_a_copy_against_the_frozen_critic() -> None:
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig
    from wsdiag.data.probe_set import collect_rollouts
    from wsdiag.envs import make_env
    from wsdiag.probes.frozen import frozen_critic_protocol

    torch.manual_seed(0)
    env = make_env("Pendulum-v1")
    agent = make_agent(AgentConfig(hidden=(32, 32), policy_delay=1, actor_q="mean"), 3, 1)
    behaviour = collect_rollouts(env, agent, 200, seed=0)
    before = [p.detach().clone() for p in agent.actor.parameters()]
    views = frozen_critic_protocol(agent, behaviour, env, updates=30, rollout_steps=100, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(before, agent.actor.parameters(), strict=True))
    assert views["sbeta_pibeta"].shape == (200,) and views["su_piu"].shape == (100,)
    states = torch.as_tensor(behaviour.states)
    with torch.no_grad():
        q_beta = agent.critic(states, agent.policy(states)).mean(0).numpy()
    np.testing.assert_allclose(views["sbeta_pibeta"], q_beta, rtol=1e-5, atol=1e-6)
    assert views["sbeta_piu"].mean() > views["sbeta_pibeta"].mean()  # ascent on the frozen Q


def test_an_untrained_critic_reads_one_half_on_average_not_each_time() -> None:
    """The README's claim: over initialisations an untrained critic's Q-percentile averages 0.5,
    while any one initialisation reads far from it (its random slope decides at the bounds)."""
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig
    from wsdiag.probes.q_percentile import q_percentile

    g = torch.Generator().manual_seed(0)
    theta = torch.rand(256, generator=g) * 2 * np.pi  # Pendulum-like: cos, sin, velocity
    states = torch.stack([theta.cos(), theta.sin(), torch.rand(256, generator=g) * 16 - 8], 1)
    actions = (torch.rand(256, 1, generator=g) * 2.4 - 1.2).clamp(-1, 1)  # ~17% at a bound
    readings = []
    for seed in range(20):
        torch.manual_seed(seed)
        agent = make_agent(AgentConfig(), 3, 1)
        p = q_percentile(lambda s, a, agent=agent: agent.q_values(s, a).mean(0), states, actions,
                         n_perturb=64, generator=torch.Generator().manual_seed(1))  # fmt: skip
        readings.append(float(np.mean(p)))
    assert 0.45 < np.mean(readings) < 0.55
    assert max(readings) - min(readings) > 0.15  # 0.29-0.78 on the demo's expert states
