"""wsdiag.api: a hand-written torch actor and critic recorded into a run directory that the
report and the diagnosis read; bad arguments refused before anything is written."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from wsdiag import probe_keys as keys
from wsdiag.analysis.run import load_run
from wsdiag.api import Phases, WsdiagError, probe_set_from_arrays, record
from wsdiag.cli.main import app
from wsdiag.integrations.agent import CallableAgent

PHASES = Phases(policy_start=40, update_start=80, total_steps=200)


class Actor(nn.Module):
    """Pendulum's torque in [-2, 2]."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1), nn.Tanh())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return 2 * self.net(obs)


class Critics(nn.Module):
    """Two critics, Q [2, N]."""

    def __init__(self) -> None:
        super().__init__()
        self.qs = nn.ModuleList(
            nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1)) for _ in range(2)
        )

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, act], -1)
        return torch.stack([q(x).squeeze(-1) for q in self.qs])


def networks() -> tuple[Actor, Critics, Actor, Critics]:
    torch.manual_seed(0)
    actor, critic = Actor(), Critics()
    return actor, critic, copy.deepcopy(actor), copy.deepcopy(critic)


def record_tiny(run_dir: Path, **changes: object) -> Path:
    """A recorded run whose actor moves at every step of fine-tuning (a stand-in for updates)."""
    actor, critic, ref_actor, ref_critic = networks()
    settings: dict = dict(
        env="Pendulum-v1", actor=actor, critic=critic, reference_actor=ref_actor,
        reference_critic=ref_critic, phases=PHASES, trainer="handmade", eval_every=50,
        probe_every=50, eval_episodes=1, probes={"states": 32, "n_perturb": 8,
        "landscape_perturb": 16},
    )  # fmt: skip
    run = record(run_dir, **(settings | changes))
    for t in range(1, PHASES.total_steps + 1):
        if t > PHASES.update_start:
            with torch.no_grad():
                for p in actor.parameters():
                    p.add_(0.02 * torch.randn_like(p))
        run.step(t)
    return run.close()


def test_recorded_run_reads_as_a_wsdiag_run(tmp_path: Path) -> None:
    run_dir = record_tiny(tmp_path / "mine")
    run = load_run(run_dir)
    assert run.config.trainer == "handmade"
    assert (run.policy_start, run.update_start) == (40, 80)
    steps, returns = run.series("eval/return")
    assert list(steps) == [0, 50, 100, 150, 200] and np.isfinite(returns).all()
    probe_steps, _ = run.series(keys.metric(keys.Q_PERCENTILE))
    assert list(probe_steps) == [0, 40, 50, 80, 100, 150, 200]  # every 50 and each boundary
    pre_steps, pre = run.series(keys.metric(keys.pretrained(keys.Q_PERCENTILE)))
    assert len(pre_steps) == len(probe_steps) and np.ptp(pre) == 0  # the reference is fixed
    _, rms = run.series(keys.metric(keys.ACTION_RMS_BEHAVIOUR))
    assert rms[0] == 0 and rms[-1] > 0  # the actor moved away from the reference
    events = [e["event"] for e in run.events]
    assert events[:2] == ["start", "warm_start"] and events[-1] == "end"
    assert json.loads((run_dir / "meta.json").read_text())["trainer"] == "handmade"
    for command in (["diagnose", str(run_dir)], ["export", str(run_dir), "--tensorboard",
                                                   str(tmp_path / "tb")]):  # fmt: skip
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output


def test_wsdiag_train_refuses_another_trainers_run(tmp_path: Path) -> None:
    run_dir = record_tiny(tmp_path / "mine")
    result = CliRunner().invoke(app, ["train", str(run_dir / "config.toml"), "--out",
                                      str(tmp_path / "again"), "-q"])  # fmt: skip
    assert result.exit_code == 2
    assert "handmade trainer" in result.output and not (tmp_path / "again").exists()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"actor": lambda o: torch.zeros(len(o), 2)}, "actor: returned shape"),
        ({"critic": lambda o, a: torch.zeros(2, len(o))}, "critic: must be a torch module"),
        ({"critic": nn.Bilinear(3, 1, 3)}, "critic: returned shape"),
        ({"reference_actor": nn.Linear(5, 1)}, "reference_actor: calling it"),
        ({"phases": Phases(50, 40, 200)}, "phases: need 0 <= policy_start"),
        ({"probe_set": "no-such-dataset"}, "no-such-dataset"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, change: dict, named: str
) -> None:
    with pytest.raises(WsdiagError, match=named.replace("(", r"\(")):
        record_tiny(tmp_path / "mine", **change)
    assert not (tmp_path / "mine").exists()


def test_a_probe_set_of_the_wrong_width_and_a_used_folder_are_refused(tmp_path: Path) -> None:
    wrong = probe_set_from_arrays("Pendulum-v1", np.zeros((4, 5)), np.zeros((4, 1)))
    with pytest.raises(WsdiagError, match="probe_set: states"):
        record_tiny(tmp_path / "mine", probe_set=wrong)
    record_tiny(tmp_path / "mine")
    with pytest.raises(WsdiagError, match="holds another run already"):
        record_tiny(tmp_path / "mine")


def test_confirm_is_refused_on_a_run_wsdiag_cannot_rerun(tmp_path: Path) -> None:
    run_dir = record_tiny(tmp_path / "mine")
    result = CliRunner().invoke(app, ["diagnose", str(run_dir), "--confirm", "--force"])
    assert result.exit_code == 2 and "handmade trainer recorded has none wsdiag can load" in (
        " ".join(result.output.split())
    )


def test_callable_agent_works_in_the_unit_action_box() -> None:
    """Q(s, a_env) = -(a_env - 1)^2 on Pendulum's box [-2, 2]: a_env = 2 a, so in wsdiag's
    units Q = -(2a - 1)^2 and dQ/da = -4 (2a - 1)."""
    low, high = np.array([-2.0]), np.array([2.0])
    agent = CallableAgent(
        lambda o: torch.full((len(o), 1), 1.0),
        lambda o, a: -((a[:, 0] - 1) ** 2),
        low=low,
        high=high,
    )
    obs = torch.zeros(3, 3)
    assert torch.allclose(agent.policy(obs), torch.full((3, 1), 0.5))
    a = torch.tensor([[0.0], [0.5], [1.0]], requires_grad=True)
    q = agent.critic(obs, a)
    assert q.shape == (1, 3)
    (grad,) = torch.autograd.grad(q.sum(), a)
    assert torch.allclose(grad[:, 0], -4 * (2 * a.detach()[:, 0] - 1))
    assert torch.allclose(agent.policy_dist(obs).stddev, torch.full((3, 1), 0.1))


def test_a_reference_without_critic_and_an_actor_given_as_a_function(tmp_path: Path) -> None:
    """The probes that need what is missing are left out; the others are recorded."""
    actor, critic, ref_actor, _ = networks()
    run_dir = record_tiny(tmp_path / "mine", actor=lambda o: actor(o), critic=critic,
                          reference_actor=ref_actor, reference_critic=None)  # fmt: skip
    run = load_run(run_dir)
    assert run.has(keys.metric(keys.Q_PERCENTILE)) and run.has(keys.metric(keys.KL_BEHAVIOUR))
    assert not run.has(keys.metric(keys.pretrained(keys.Q_PERCENTILE)))
    assert not run.has(keys.metric(keys.Q_KL_BEHAVIOUR))
    assert not run.has(keys.metric(keys.POLICY_GRAD_NORM))
