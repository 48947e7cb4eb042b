"""The batched critic ensemble equals E separate MLPs; the tanh-Gaussian log-density is exact."""

from __future__ import annotations

import torch
from torch import nn

from wsdiag.agents.networks import EnsembleCritic, GaussianActor


def _separate_mlp(critic: EnsembleCritic, e: int) -> nn.Sequential:
    """An ordinary MLP holding member e's weights."""
    layers: list[nn.Module] = []
    for i, lin in enumerate(critic.linears):
        layer = nn.Linear(lin.weight.shape[1], lin.weight.shape[2])
        with torch.no_grad():
            layer.weight.copy_(lin.weight[e].T)
            layer.bias.copy_(lin.bias[e, 0])
        layers.append(layer)
        if i < len(critic.linears) - 1:
            if critic.norms is not None:
                norm = nn.LayerNorm(layer.out_features)
                with torch.no_grad():
                    norm.weight.copy_(critic.norms[i].weight[e, 0])
                    norm.bias.copy_(critic.norms[i].bias[e, 0])
                layers.append(norm)
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def test_batched_ensemble_equals_separate_mlps() -> None:
    torch.manual_seed(0)
    for layer_norm in (False, True):
        critic = EnsembleCritic(5, 2, ensemble=4, hidden=(16, 8), layer_norm=layer_norm)
        if layer_norm:  # make the per-member affine parameters differ
            for norm in critic.norms:
                nn.init.normal_(norm.weight)
                nn.init.normal_(norm.bias)
        obs, act = torch.randn(7, 5), torch.randn(7, 2)
        q = critic(obs, act)
        assert q.shape == (4, 7)
        for e in range(4):
            expected = _separate_mlp(critic, e)(torch.cat([obs, act], -1)).squeeze(-1)
            torch.testing.assert_close(q[e], expected, rtol=1e-5, atol=1e-5)


def test_members_subset_selects_those_critics() -> None:
    torch.manual_seed(1)
    critic = EnsembleCritic(3, 1, ensemble=5, hidden=(8,), layer_norm=True)
    obs, act = torch.randn(4, 3), torch.randn(4, 1)
    members = torch.tensor([3, 1])
    torch.testing.assert_close(critic(obs, act, members), critic(obs, act)[members])


def test_members_are_independent() -> None:
    """The gradient of critic e's output reaches only critic e's weights."""
    critic = EnsembleCritic(3, 1, ensemble=3, hidden=(8,))
    critic(torch.randn(4, 3), torch.randn(4, 1))[1].sum().backward()
    grads = critic.linears[0].weight.grad
    assert grads[1].abs().sum() > 0
    assert grads[0].abs().sum() == 0 and grads[2].abs().sum() == 0


def test_tanh_gaussian_log_prob_matches_change_of_variables() -> None:
    torch.manual_seed(2)
    actor = GaussianActor(4, 3, hidden=(16, 16))
    obs = torch.randn(6, 4)
    torch.manual_seed(5)
    action, log_prob = actor.sample(obs)
    mean, std = actor(obs)
    dist = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mean, std), [torch.distributions.TanhTransform()]
    )
    expected = dist.log_prob(action.clamp(-1 + 1e-6, 1 - 1e-6)).sum(-1)
    torch.testing.assert_close(log_prob, expected, rtol=1e-3, atol=1e-3)
    assert action.abs().max() < 1
