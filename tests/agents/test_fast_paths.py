"""The faster paths of the critic ensemble (a shared input as a stride-0 view with the bias inside
the batched matmul, ReLU in place, slices through reused buffers) and of CQL's policy samples (the
actor once per state, its n samples drawn together) compute what the earlier code computed: a
copy of that code lives here as the reference, and outputs, losses, parameter gradients and whole
CQL and Cal-QL updates agree within float tolerance for the same seed (on the machine of
docs/performance.md, to the last bit)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from tests.conftest import random_batch
from wsdiag.agents import make_agent
from wsdiag.agents.cql import cql_regulariser
from wsdiag.agents.networks import EnsembleCritic, EnsembleLinear, GaussianActor
from wsdiag.config import ALGORITHMS, AgentConfig
from wsdiag.data.buffer import ORIGIN_OFFLINE, Batch

OBS, ACT = 17, 6  # HalfCheetah's dimensions


# ---- the reference: the code before the fast paths ----


def _old_linear(self: EnsembleLinear, x: Tensor, members: object = None) -> Tensor:
    w, b = self.weight, self.bias
    if members is not None:
        w, b = w[members], b[members]
    if x.dim() == 2:
        return torch.matmul(x, w) + b
    return torch.baddbmm(b, x, w)


def _old_critic(self: EnsembleCritic, obs: Tensor, act: Tensor, members: object = None) -> Tensor:
    x = torch.cat([self.obs_norm(obs), act], dim=-1)
    for i, linear in enumerate(self.linears[:-1]):
        x = _old_linear(linear, x, members)
        if self.norms is not None:
            x = self.norms[i](x, members)
        x = F.relu(x)
    return _old_linear(self.linears[-1], x, members).squeeze(-1)


def _old_sample_many(self: GaussianActor, obs: Tensor, n: int) -> tuple[Tensor, Tensor]:
    return self.sample(obs.repeat_interleave(n, 0))  # the actor on every repeated state


@pytest.fixture
def old_code(monkeypatch: pytest.MonkeyPatch):
    """A context in which the ensemble and CQL's samples run the reference code."""

    class Old:
        def __enter__(self) -> None:
            monkeypatch.setattr(EnsembleCritic, "forward", _old_critic)
            monkeypatch.setattr(GaussianActor, "sample_many", _old_sample_many)

        def __exit__(self, *exc: object) -> None:
            monkeypatch.undo()

    return Old()


# ---- the comparisons ----


def _close(new: Tensor, old: Tensor) -> None:
    """Equal up to float32 rounding: sums over thousands of rows, added in another order, move
    by about 1e-5 of the largest entry (and a gradient that is 0 analytically, such as the
    output bias's under the CQL gap, by about 1e-7)."""
    scale = float(old.detach().abs().max()) if old.numel() else 0.0
    torch.testing.assert_close(new, old, rtol=1e-4, atol=1e-4 * scale + 1e-6)


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("members", [None, slice(0, 1), torch.tensor([2, 0])])
def test_ensemble_outputs_and_gradients_match_the_reference(
    layer_norm: bool, members: object, old_code: object
) -> None:
    torch.manual_seed(0)
    critic = EnsembleCritic(OBS, ACT, ensemble=3, hidden=(64, 64), layer_norm=layer_norm)
    obs, act = torch.randn(300, OBS), torch.rand(300, ACT) * 2 - 1
    act.requires_grad_(True)
    weights = torch.randn(300)

    def outputs() -> list[Tensor]:
        q = critic(obs, act, members)
        grads = torch.autograd.grad((q.pow(2) * weights).sum(), [act, *critic.parameters()])
        return [q, *grads]

    new = outputs()
    with old_code:
        old = outputs()
    for a, b in zip(new, old, strict=True):
        _close(a, b)


def test_sample_many_draws_what_sample_draws_on_repeated_states() -> None:
    torch.manual_seed(0)
    actor = GaussianActor(OBS, ACT, (32, 32))
    obs = torch.randn(20, OBS)
    torch.manual_seed(7)
    a, logp = actor.sample_many(obs, 10)
    torch.manual_seed(7)
    a_ref, logp_ref = actor.sample(obs.repeat_interleave(10, 0))
    _close(a, a_ref)
    _close(logp, logp_ref)
    assert a.shape == (200, ACT) and logp.shape == (200,)


def _agent(algo: str) -> object:
    spec = ALGORITHMS[algo]
    cfg = AgentConfig(algo=algo, hidden=(64, 64), batch_size=64, params=spec.params())
    return make_agent(cfg, OBS, ACT)


def _batch(seed: int) -> Batch:
    g = torch.Generator().manual_seed(seed)
    mc = torch.randn(64, generator=g) * 5  # Cal-QL's bound lifts some Q-values, not all
    return random_batch(64, OBS, ACT, seed, ORIGIN_OFFLINE, mc_return=mc)


@pytest.mark.parametrize("algo", ["cql", "calql"])
def test_cql_regulariser_loss_and_gradients_match_the_reference(
    algo: str, old_code: object
) -> None:
    torch.manual_seed(0)
    agent = _agent(algo)
    batch = _batch(1)
    params = list(agent.critic.parameters())

    def outputs() -> list[Tensor]:
        torch.manual_seed(11)  # the same random and policy actions in both
        loss, stats = cql_regulariser(agent, batch)
        return [loss, *stats.values(), *torch.autograd.grad(loss, params)]

    new = outputs()
    with old_code:
        old = outputs()
    for a, b in zip(new, old, strict=True):
        _close(a, b)


@pytest.mark.parametrize("algo", ["cql", "calql"])
def test_whole_updates_match_the_reference_for_the_same_seed(algo: str, old_code: object) -> None:
    """Three updates (critic, actor, temperature, targets) from the same agent and seed."""
    torch.manual_seed(0)
    agent = _agent(algo)
    twin = copy.deepcopy(agent)
    batches = [_batch(s) for s in range(3)]

    def train(a: object) -> list[dict[str, float]]:
        torch.manual_seed(3)
        return [a.update(b) for b in batches]  # type: ignore[attr-defined]

    new = train(agent)
    with old_code:
        old = train(twin)
    for m_new, m_old in zip(new, old, strict=True):
        assert m_new.keys() == m_old.keys()
        for k in m_old:
            assert m_new[k] == pytest.approx(m_old[k], rel=1e-4, abs=1e-5), k
    for key, module in agent.modules().items():
        for (name, p), q in zip(
            module.state_dict().items(), twin.modules()[key].state_dict().values(), strict=True
        ):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5, msg=f"{key}.{name}")


def test_the_reference_comparison_can_fail(old_code: object) -> None:
    """Another seed for the samples: the comparison must see the difference."""
    torch.manual_seed(0)
    agent = _agent("cql")
    batch = _batch(1)
    torch.manual_seed(11)
    new = cql_regulariser(agent, batch)[0]
    with old_code:
        torch.manual_seed(12)
        old = cql_regulariser(agent, batch)[0]
    with pytest.raises(AssertionError):
        _close(new, old)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_evaluate_in_slices_through_reused_buffers_equals_forward(layer_norm: bool) -> None:
    torch.manual_seed(0)
    critic = EnsembleCritic(OBS, ACT, ensemble=3, hidden=(64, 32), layer_norm=layer_norm)
    obs, act = torch.randn(1000, OBS), torch.rand(1000, ACT) * 2 - 1
    with torch.no_grad():
        expected = critic(obs, act)
    for rows in (1000, 300, 7):  # one slice, a short last slice, many slices
        _close(critic.evaluate(obs, act, rows), expected)
    assert not critic.evaluate(obs, act, 300).requires_grad
