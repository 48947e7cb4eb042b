"""Policy-side mitigations: PQD, the CCL alpha map, BC penalties, clipping, lr, critic target."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from pathlib import Path

import pytest
import torch

from tests.conftest import random_batch, tiny_config
from wsdiag.agents import make_agent
from wsdiag.config import AgentConfig
from wsdiag.data.buffer import Batch
from wsdiag.errors import WsdiagError
from wsdiag.mitigations import apply_mitigation
from wsdiag.mitigations.base import MitigationContext
from wsdiag.mitigations.ccl_pqd import alpha_from_confidence
from wsdiag.mitigations.pqd import pqd_mix, pqd_vector
from wsdiag.training.experiment import Experiment
from wsdiag.training.recorder import read_metrics

OBS, ACT = 3, 2
SMALL = AgentConfig(hidden=[16, 16], batch_size=8)


def _batch(n: int = 8, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randn(n, OBS, generator=g),
        actions=torch.rand(n, ACT, generator=g) * 2 - 1,
        rewards=torch.randn(n, generator=g),
        next_obs=torch.randn(n, OBS, generator=g),
        terminated=torch.zeros(n),
        truncated=torch.zeros(n),
        origin=torch.zeros(n, dtype=torch.int8),
        mc_return=torch.zeros(n),
    )


def _context(algo: str = "td3", **mitigation: object) -> MitigationContext:
    torch.manual_seed(0)
    cfg = dataclasses.replace(SMALL, algo=algo)
    agent, pretrained = make_agent(cfg, OBS, ACT), make_agent(cfg, OBS, ACT)
    config = tiny_config(mitigation=mitigation)
    return MitigationContext(agent, pretrained, config, None, None, 0)  # type: ignore[arg-type]


def _actor_grads(agent) -> list[torch.Tensor]:
    return [p.grad.clone() for p in agent.actor.parameters()]


# ---------------------------------------------------------------- PQD and the alpha map


def test_pqd_vector_keeps_agreeing_and_rejects_disagreeing_distance_gradients() -> None:
    g = torch.tensor([[1.0, 0.0], [1.0, 0.0], [2.0, 1.0], [0.0, 0.0]])  # -dQ/da
    grad_d = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-2.0, 1.0], [0.5, -0.5]])
    q = pqd_vector(grad_d, g)
    torch.testing.assert_close(q[0], grad_d[0])  # dot > 0: kept
    torch.testing.assert_close(q[1], torch.tensor([0.0, 1.0]))  # rejection from g
    assert (grad_d[2] @ g[2]).item() < 0 and abs((q[2] @ g[2]).item()) < 1e-6
    torch.testing.assert_close(q[2], grad_d[2] - (grad_d[2] @ g[2]) / (g[2] @ g[2]) * g[2])
    torch.testing.assert_close(q[3], grad_d[3])  # g = 0: nothing to reject


def test_pqd_mix_limits() -> None:
    q, g = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, -1.0]])
    torch.testing.assert_close(pqd_mix(q, g, 1.0, "eq7"), g)  # vanilla policy gradient
    torch.testing.assert_close(pqd_mix(q, g, 0.0, "eq7"), q)  # pure PQD
    torch.testing.assert_close(pqd_mix(q, g, 1.0, "eq12"), g - q)  # the literal eq. 12
    torch.testing.assert_close(pqd_mix(q, g, 0.25, "eq7"), 0.75 * q + 0.25 * g)


@pytest.mark.parametrize("start", [1e-2, 1e-4])
def test_alpha_map_is_log_linear_from_alpha_start_to_one(start: float) -> None:
    assert alpha_from_confidence(0.5, start) == pytest.approx(start)
    assert alpha_from_confidence(0.2, start) == pytest.approx(start)
    assert alpha_from_confidence(1.0, start) == pytest.approx(1.0)
    assert alpha_from_confidence(0.75, start) == pytest.approx(math.sqrt(start))
    xs = [math.log10(alpha_from_confidence(p, start)) for p in (0.6, 0.7, 0.8, 0.9)]
    steps = [b - a for a, b in itertools.pairwise(xs)]
    assert steps == pytest.approx([steps[0]] * 3) and steps[0] > 0


# ---------------------------------------------------------------- BC penalty: exact gradients


@pytest.mark.parametrize("form", ["eq6", "convex"])
def test_bc_penalty_gradient_equals_the_direct_loss(form: str) -> None:
    alpha = 0.3
    ctx = _context(name="bc_penalty", bc_penalty={"alpha": alpha, "form": form})
    apply_mitigation(ctx)
    agent, batch = ctx.agent, _batch()
    loss, _ = agent._actor_loss(batch)
    loss.backward()
    via_hook = _actor_grads(agent)
    agent.actor.zero_grad()
    a = agent.actor(batch.obs)
    with torch.no_grad():
        a_beta = ctx.pretrained.policy(batch.obs)
    q, d = agent.critic(batch.obs, a)[0], (a - a_beta).pow(2).sum(-1)
    direct = -q + alpha * d if form == "eq6" else alpha * -q + (1 - alpha) * d
    direct.mean().backward()
    for got, want in zip(via_hook, agent.actor.parameters(), strict=True):
        torch.testing.assert_close(got, want.grad)


def test_bad_choice_is_a_clear_error() -> None:
    with pytest.raises(WsdiagError, match="form"):
        apply_mitigation(_context(name="bc_penalty", bc_penalty={"form": "l1"}))


# ---------------------------------------------------------------- clipping, lr, critic target


def test_grad_clip_bounds_the_actor_gradient_norm() -> None:
    ctx = _context(name="grad_clip", grad_clip={"max_norm": 1e-3})
    apply_mitigation(ctx)
    agent = ctx.agent
    for _ in range(2):  # TD3: the actor steps every 2nd update
        agent.update(_batch())
    norm = torch.nn.utils.get_total_norm([p.grad for p in agent.actor.parameters()])
    assert agent.actor_updates == 1 and norm.item() <= 1e-3 * (1 + 1e-4)


def test_lr_scale_sets_the_actor_learning_rate() -> None:
    ctx = _context(name="lr_scale", lr_scale={"scale": 0.1})
    critic_lr = ctx.agent.critic_opt.param_groups[0]["lr"]
    apply_mitigation(ctx)
    apply_mitigation(ctx)  # applying twice (resume) does not compound
    lrs = [g["lr"] for g in ctx.agent.actor_opt.param_groups]
    assert lrs == pytest.approx([0.1 * SMALL.actor_lr])
    assert ctx.agent.critic_opt.param_groups[0]["lr"] == critic_lr


def test_critic_bc_lowers_the_target_by_the_penalty() -> None:
    ctx = _context("td3", name="critic_bc", critic_bc={"alpha": 0.5})
    agent, batch = ctx.agent, _batch()
    agent.cfg = dataclasses.replace(agent.cfg, policy_noise=0.0)
    torch.manual_seed(1)
    plain = agent.td_target(batch)
    apply_mitigation(ctx)
    torch.manual_seed(1)
    penalised = agent.td_target(batch)
    with torch.no_grad():
        d = (agent.policy(batch.next_obs) - ctx.pretrained.policy(batch.next_obs)).pow(2).sum(-1)
    torch.testing.assert_close(penalised, plain - agent.gamma * 0.5 * d)


# ---------------------------------------------------------------- smoke runs


SMOKE = [
    ({"name": "bc_penalty", "bc_penalty": {"alpha": 0.1}}, "td3", {"mitigation/alpha"}),
    ({"name": "pqd", "pqd": {"alpha": 0.01}}, "td3", {"mitigation/pqd_rejected"}),
    (
        {"name": "ccl_pqd", "ccl_pqd": {"alpha_start": 1e-2, "every": 50, "n_perturb": 20}},
        "td3",
        {"mitigation/alpha", "mitigation/confidence", "mitigation/pqd_rejected"},
    ),
    (
        {"name": "ccl_pqd", "ccl_pqd": {"every": 50, "n_perturb": 20, "states": "batch"}},
        "sac",
        {"mitigation/alpha", "mitigation/confidence"},
    ),
    (
        {"name": "ccl_bc", "ccl_bc": {"every": 50, "n_perturb": 20}},
        "ddpg",
        {"mitigation/alpha", "mitigation/confidence", "mitigation/bc_distance"},
    ),
    ({"name": "grad_clip", "grad_clip": {"max_norm": 0.1}}, "td3", {"mitigation/clipped"}),
    ({"name": "lr_scale", "lr_scale": {"scale": 0.1}}, "td3", {"mitigation/actor_lr"}),
    ({"name": "critic_bc", "critic_bc": {"alpha": 0.1}}, "sac", {"mitigation/critic_bc_distance"}),
]


@pytest.mark.parametrize(("mitigation", "algo", "keys"), SMOKE)
def test_smoke_run_records_the_mitigation(mitigation, algo: str, keys: set, runs: Path) -> None:
    config = tiny_config(
        mitigation=mitigation,
        pretrain={"algo": algo, "steps": 300},
        finetune={"algo": algo, "steps": 300},
        warmstart={"warmup_steps": 0, "freeze_policy_steps": 0},
    )
    run_dir = Experiment.create(config, runs, progress="none").run()
    frame = read_metrics(run_dir)
    online = frame[frame.phase != "pretrain"]
    assert keys <= set(online.key), sorted(set(online.key))
    assert online.value.notna().all()


def test_bcq_starts_at_the_behavioural_policy_and_stays_within_phi(runs) -> None:
    from wsdiag.agents.bcq import PerturbationActor
    from wsdiag.config.algorithms.bcq import Params

    torch.manual_seed(0)
    pretrained = make_agent(AgentConfig(hidden=(16, 16)), 3, 2)
    base = pretrained.actor
    bcq = Params(bcq_phi=0.1, bcq_hidden=(8,), bcq_init="zero", bcq_input="state_action")
    agent = make_agent(AgentConfig(algo="bcq", hidden=(16, 16), params=bcq), 3, 2)
    assert agent.warm_start(pretrained, ["actor"]) == ["actor", "actor_target"]
    assert isinstance(agent.actor, PerturbationActor)
    obs = torch.randn(64, 3)
    torch.testing.assert_close(agent.policy(obs), base(obs))  # xi starts at zero
    for _ in range(20):
        agent.update(random_batch(32, 3, 2))
    moved = (agent.policy(obs) - base(obs).clamp(-1, 1)).abs()
    assert moved.max() > 0 and moved.max() <= 0.1 + 1e-6
    assert all(not p.requires_grad for p in agent.actor.base.parameters())
    with pytest.raises(WsdiagError, match="deterministic actor"):
        agent.warm_start(make_agent(AgentConfig(algo="sac", hidden=(8,)), 3, 2), ["actor"])


def test_bcq_run_resumes_and_probes(runs) -> None:
    from typer.testing import CliRunner

    from wsdiag.cli.main import app

    config = tiny_config(finetune={"algo": "bcq"}, probes={"every": 0})
    run_dir = Experiment.create(config, runs, progress="none").run()
    result = CliRunner().invoke(
        app, ["probe", "-c", str(run_dir / "checkpoints" / "step_400"), "--rollouts", "20",
              "--set", "probes.n_perturb=4", "--out", str(runs / "p")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_default_clip_threshold_measurably_shrinks_an_adam_step() -> None:
    """Adam is scale-invariant: only thresholds near its eps change the step (module docstring)."""
    from wsdiag.config.mitigations.grad_clip import Params
    from wsdiag.mitigations.grad_clip import clip_hook

    torch.manual_seed(0)
    base = make_agent(AgentConfig(), OBS, 1)
    batch = random_batch(256, OBS, 1)

    def displacement(max_norm: float | None) -> float:
        agent = copy.deepcopy(base)
        if max_norm is not None:
            agent.actor_step_hooks.append(clip_hook(max_norm))
        before = [p.detach().clone() for p in agent.actor.parameters()]
        agent.actor_step(agent._actor_loss(batch)[0])
        moved = (p.detach() - b for p, b in zip(agent.actor.parameters(), before, strict=True))
        return float(sum(d.pow(2).sum() for d in moved).sqrt())

    free = displacement(None)
    assert displacement(1.0) == pytest.approx(free, rel=1e-4)  # far above eps: no effect
    assert displacement(Params().max_norm) < 0.5 * free


def test_bcq_with_the_authors_defaults_perturbs_from_the_state_within_phi() -> None:
    torch.manual_seed(0)
    pretrained = make_agent(AgentConfig(hidden=(16, 16)), 3, 2)
    agent = make_agent(AgentConfig(algo="bcq", hidden=(16, 16)), 3, 2)
    agent.warm_start(pretrained, ["actor"])
    assert agent.actor.xi[0].in_features == 3  # xi(s): the state alone
    obs = torch.randn(256, 3)
    gap = (agent.policy(obs) - pretrained.actor(obs).clamp(-1, 1)).abs()
    assert 0 < gap.max() <= agent.cfg.params.bcq_phi + 1e-6  # random init: near pi_beta
