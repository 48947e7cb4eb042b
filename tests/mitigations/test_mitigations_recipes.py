"""Mechanism tests of the recipe mitigations: GP, CR, the AdaptiveBC PD rule, JSRL, WSRL."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.conftest import tiny_config
from wsdiag.agents.networks import EnsembleCritic
from wsdiag.config import from_dict
from wsdiag.mitigations.adaptive_bc import PDController
from wsdiag.mitigations.critic_weighted import relaxation_weights
from wsdiag.mitigations.gradient_penalty import gradient_penalty
from wsdiag.mitigations.jsrl import GuideSwitch, curriculum
from wsdiag.training.experiment import Experiment
from wsdiag.training.recorder import read_events, read_metrics

RECIPES = Path(__file__).parents[2] / "examples" / "recipes"


class LinearQ(torch.nn.Module):
    """Q_e(s, a) = <w_e, a>: dQ_e/da = w_e everywhere (a stand-in with the critic's API)."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(w)
        self.ensemble = w.shape[0]

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return (act * self.w[:, None, :]).sum(-1)  # act [E, M, da] -> [E, M]


def test_gradient_penalty_is_zero_below_k_and_matches_by_hand() -> None:
    obs, act = torch.randn(5, 3), torch.rand(5, 2) * 2 - 1
    small = LinearQ(torch.tensor([[0.3, 0.4], [0.6, 0.0]]))  # norms 0.5, 0.6 < 1
    assert float(gradient_penalty(small, obs, act, k=1.0).detach()) == 0.0
    big = LinearQ(torch.tensor([[3.0, 4.0], [0.6, 0.8]]))  # norms 5 and 1
    gp = gradient_penalty(big, obs, act, k=1.0)
    assert float(gp.detach()) == pytest.approx((5.0 - 1.0) ** 2 + 0.0)
    gp.backward()  # differentiable w.r.t. the critic: d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    expected = 2 * 4.0 * torch.tensor([3.0, 4.0]) / 5.0
    assert torch.allclose(big.w.grad[0], expected) and torch.allclose(big.w.grad[1], torch.zeros(2))


def test_gradient_penalty_of_an_ensemble_critic_by_autograd() -> None:
    torch.manual_seed(0)
    critic = EnsembleCritic(3, 2, ensemble=3, hidden=(16,))
    obs, act = torch.randn(7, 3), torch.rand(7, 2) * 2 - 1
    expected = 0.0
    for e in range(3):  # one critic at a time, one state at a time
        for i in range(7):
            a = act[i : i + 1].clone().requires_grad_(True)
            q = critic(obs[i : i + 1], a)[e].sum()
            (g,) = torch.autograd.grad(q, a)
            expected += max(float(g.norm()) - 0.1, 0.0) ** 2 / 7
    assert float(gradient_penalty(critic, obs, act, k=0.1).detach()) == pytest.approx(
        expected, rel=1e-4
    )


def test_relaxation_weights_lie_in_unit_interval_without_gradient() -> None:
    q = torch.tensor([-3.0, 1.0, 5.0, 0.0], requires_grad=True)
    w = relaxation_weights(q)
    assert not w.requires_grad
    assert float(w.min()) == 0.0 and float(w.max()) == 1.0
    assert torch.allclose(w, torch.tensor([0.0, 0.5, 1.0, 0.375]))
    assert float(relaxation_weights(torch.ones(3)).max()) == 0.0  # a flat batch: no NaN


def test_one_pd_step_by_hand() -> None:
    ctrl = PDController(alpha=0.4, kp=3e-5, kd=8e-5, target=1.0, high=0.4)
    ctrl.step(0.5)  # first episode: no derivative term
    assert ctrl.alpha == pytest.approx(0.4 + 3e-5 * (0.5 - 1.0))
    before = ctrl.alpha
    ctrl.step(0.2)  # a drop of 0.3
    assert ctrl.alpha == pytest.approx(before + 3e-5 * (0.2 - 1.0) + 8e-5 * 0.3)
    ctrl.step(2.0)  # above the target: clipped at alpha_offline
    assert ctrl.alpha == 0.4
    low = PDController(alpha=1e-6, kp=3e-5, kd=8e-5, target=1.0, high=0.4)
    assert low.step(0.0) == 0.0  # clipped at 0
    code = PDController(alpha=0.3, kp=1e-3, kd=2e-3, target=1.0, high=0.4, variant="code")
    code.r_last = 0.6
    code.step(0.4, length=10)  # T (Kp (R_avg - target) + Kd max(0, R_avg - R))
    assert code.alpha == pytest.approx(0.3 + 10 * (1e-3 * (0.6 - 1.0) + 2e-3 * 0.2))
    assert code.r_last == pytest.approx(0.05 * 0.4 + 0.95 * 0.6)


def test_jsrl_switch_hands_control_over_at_h() -> None:
    class Guide:
        def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
            return np.array([0.5], np.float32)

    class FakeLoop:
        episode_length = 0

    switch = GuideSwitch(Guide(), explore=False)  # type: ignore[arg-type]
    switch.horizon = 3
    loop = FakeLoop()
    who = []
    for t in range(6):
        loop.episode_length = t
        who.append(switch(loop, np.zeros(3)) is not None)  # type: ignore[arg-type]
    assert who == [True, True, True, False, False, False]
    assert curriculum(200, 10) == list(range(200, -1, -20))
    assert curriculum(7, 3)[-1] == 0


def _recipe(name: str, **overrides: Any) -> dict[str, Any]:
    """A recipe file with tiny networks and budgets layered on top."""
    data = tomllib.loads((RECIPES / f"{name}.toml").read_text())
    tiny = {"hidden": [32, 32], "batch_size": 32, "buffer_size": 5000}
    for stage in ("pretrain", "finetune"):
        data[stage] = {**data.get(stage, {}), **tiny}
    data["pretrain"].update(steps=200, learning_starts=100)
    data["finetune"].update(steps=300, utd=min(data["finetune"].get("utd", 1), 2))
    data["warmstart"] = {**data.get("warmstart", {}), "warmup_steps": 60}
    data["eval"] = {"every": 100, "episodes": 1}
    data["checkpoint"] = {"every": 0, "keep": 1}
    data["log"] = {"train_every": 50}
    data["probes"] = {"every": 0}
    data["threads"] = 1
    for key, value in overrides.items():
        data.setdefault(key, {}).update(value)
    return data


def test_wsrl_collects_k_frozen_policy_steps_before_any_update(
    runs: Path, pendulum_datasets: dict[str, str]
) -> None:
    data = _recipe("wsrl", pretrain={"dataset": pendulum_datasets["mixed"], "steps": 60})
    data["log"] = {"train_every": 20}
    config = from_dict(data)
    assert config.finetune.algo == "sac" and config.warmstart.warmup_steps == 60
    run_dir = Experiment.create(config, runs, progress="none").run()
    frame = read_metrics(run_dir)
    online = frame[frame.phase.isin(["warmup", "freeze", "finetune"])]
    updates = online[online.key == "train/updates"].sort_values("step")
    assert (updates[updates.step <= 60].value == 0).all()  # no update during the K steps
    assert updates.step.min() == 20 and (updates[updates.step > 60].value > 0).all()
    phases = [e for e in read_events(run_dir) if e["event"] == "phase"]
    assert [(e["phase"], e["step"]) for e in phases if e["stage"] == "online"][:2] == [
        ("warmup", 0),
        ("finetune", 60),
    ]
    warm_start = next(e for e in read_events(run_dir) if e["event"] == "warm_start")
    assert {"actor", "actor_opt", "critic", "critic_opt"} <= set(warm_start["loaded"])


@pytest.mark.parametrize("name", ["gradient_penalty", "td3bc_pp", "critic_weighted"])
def test_td3bc_mitigations_run(name: str, runs: Path) -> None:
    config = tiny_config(
        pretrain={"algo": "td3bc", "steps": 200},
        finetune={"algo": "td3bc", "steps": 250},
        warmstart={"load": ["actor", "critic"], "warmup_steps": 50, "freeze_policy_steps": 0},
        log={"train_every": 50},
        mitigation={"name": name, **({name: {"every": 2}} if name != "critic_weighted" else {})},
    )
    run_dir = Experiment.create(config, runs, progress="none").run()
    keys = set(read_metrics(run_dir).key)
    if name != "critic_weighted":
        assert "mitigation/gp_loss" in keys
    if name != "gradient_penalty":
        assert "mitigation/cr_weight_mean" in keys


@pytest.mark.parametrize("name", ["adaptive_bc", "jsrl", "jsrl_random"])
def test_online_mitigations_run(name: str, runs: Path) -> None:
    params = {
        "adaptive_bc": {"kp": 1e-2, "ref_min": -1600.0, "ref_max": -150.0},
        "jsrl": {"eval_every": 100, "eval_episodes": 1, "max_horizon": 100, "stages": 2},
        "jsrl_random": {"decay_steps": 300, "p_start": 1.0, "gamma": 0.9},
    }
    config = tiny_config(
        pretrain={"steps": 200},
        finetune={"steps": 450},
        warmstart={"warmup_steps": 50, "freeze_policy_steps": 0},
        mitigation={"name": name, name: params[name]},
    )
    run_dir = Experiment.create(config, runs, progress="none").run()
    frame = read_metrics(run_dir)
    key = "mitigation/alpha" if name == "adaptive_bc" else "mitigation/horizon"
    values = frame[frame.key == key].value
    assert len(values) >= 2
    if name == "adaptive_bc":
        assert values.iloc[0] == 0.4 and values.iloc[-1] < 0.4  # low returns lower alpha
    if name == "jsrl_random":
        assert values.max() > 0


@pytest.mark.parametrize("name", ["redq_adaptive_bc", "td3bc_pp", "wsrl_random_warmup"])
def test_offline_recipes_run(name: str, runs: Path, pendulum_datasets: dict[str, str]) -> None:
    data = _recipe(name, pretrain={"dataset": pendulum_datasets["mixed"], "steps": 60})
    data["mitigation"] = {**data.get("mitigation", {}), "adaptive_bc": {"ref_episodes": 1}}
    run_dir = Experiment.create(from_dict(data), runs, progress="none").run()
    assert "eval/return" in set(read_metrics(run_dir).key)


@pytest.mark.parametrize(
    ("name", "mitigation"),
    [("wsrl_no_warmup", "none"), ("jsrl", "jsrl"), ("jsrl_random", "jsrl_random")],
)
def test_other_recipes_load(name: str, mitigation: str) -> None:
    config = from_dict(_recipe(name))
    assert config.mitigation.name == mitigation


def test_the_default_pd_rule_moves_alpha_as_the_authors_code_does() -> None:
    """100 episodes of 200 steps with normalised returns in [0, 0.6]: the code's T-scaled rule
    (the default) takes alpha far down; eq. 2 without T barely moves it."""
    from wsdiag.config.mitigations.adaptive_bc import Params

    returns = np.random.default_rng(0).uniform(0.0, 0.6, 100)

    def final_alpha(p: Params) -> float:
        ctrl = PDController(p.alpha_offline, p.kp, p.kd, p.target, p.alpha_offline, p.variant)
        ctrl.r_last = 0.6 if p.variant == "code" else None  # R_avg from the pretrained return
        for r in returns:
            ctrl.step(float(r), length=200)
        return ctrl.alpha

    assert final_alpha(Params()) < 0.2
    paper = Params(variant="paper", kd=8e-5, target=1.0)
    assert final_alpha(paper) == pytest.approx(0.4, abs=0.01)


def test_adaptive_bc_without_an_expert_reference_warns_and_the_report_says_so(runs: Path) -> None:
    from wsdiag.report.writer import write_report

    config = tiny_config(
        pretrain={"steps": 200},
        finetune={"steps": 250},
        warmstart={"warmup_steps": 50, "freeze_policy_steps": 0},
        mitigation={"name": "adaptive_bc", "adaptive_bc": {"ref_episodes": 1, "ref_min": -1800.0}},
    )
    run_dir = Experiment.create(config, runs, progress="none").run()
    events = read_events(run_dir)
    warnings = [e for e in events if e["event"] == "warning" and "warning" not in e]
    assert len(warnings) == 1 and "relative to the pretrained policy" in warnings[0]["message"]
    report = write_report([run_dir], runs / "report", per_run_figures=False)
    assert any("R_target = 1.05" in w for w in report.warnings)
    assert "R_target = 1.05" in (runs / "report" / "summary.md").read_text()


def test_jsrl_guide_can_explore_with_the_learners_noise_as_the_port_does() -> None:
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig

    torch.manual_seed(0)
    guide = make_agent(AgentConfig(hidden=(8,)), 3, 1)
    learner = make_agent(AgentConfig(hidden=(8,), expl_noise=0.3), 3, 1)

    class FakeLoop:
        episode_length, agent = 0, learner

    switch = GuideSwitch(guide, explore=True, noise="learner")
    switch.horizon = 1
    obs = np.zeros(3, np.float32)
    actions = np.array([switch(FakeLoop(), obs) for _ in range(2000)])  # type: ignore[arg-type]
    mean = guide.act(obs, explore=False)
    assert abs(actions.mean() - mean.mean()) < 0.03 and abs(actions.std() - 0.3) < 0.03
