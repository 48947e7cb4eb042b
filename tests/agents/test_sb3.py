"""Stable-Baselines3 zips as the pretrained agent: the imported networks reproduce SB3's actions
and Q values; `wsdiag train` fine-tunes from one; unsupported or unsafe zips are refused."""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import DEMO_CONFIG, TINY_ARGS, one_line_error, trained_sb3
from tests.sweep.test_sweep import TINY, TWO_VARIANTS
from wsdiag.agents.checkpoint import Checkpoint
from wsdiag.agents.sb3 import check_warm_start, import_sb3, read_sb3
from wsdiag.cli.main import app
from wsdiag.config import AgentConfig, PretrainConfig, resolve_agent
from wsdiag.envs import make_env
from wsdiag.errors import WsdiagError
from wsdiag.sweep.plan import build_plan
from wsdiag.sweep.spec import load_sweep
from wsdiag.training.assemble import EVAL_SEED_OFFSET
from wsdiag.training.recorder import read_metrics

runner = CliRunner()
TOL = 1e-5


@pytest.fixture(scope="module")
def sb3() -> Any:
    return pytest.importorskip(
        "stable_baselines3", reason="the tests make SB3 models: pip install -e '.[sb3]'"
    )


@pytest.fixture(scope="module")
def td3_zip(sb3: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_sb3(
        sb3, "TD3", tmp_path_factory.mktemp("td3"), policy_kwargs={"net_arch": [32, 32]}
    )


@pytest.fixture(scope="module")
def sac_zip(sb3: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SAC with unequal widths (not SB3's default 256-256), so the shapes must be read."""
    return trained_sb3(
        sb3, "SAC", tmp_path_factory.mktemp("sac"), policy_kwargs={"net_arch": [48, 24]}
    )


def _observations(n: int = 256) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform([-1, -1, -8], [1, 1, 8], (n, 3)).astype(np.float32)


def _checkpoint(path: Path) -> Checkpoint:
    return import_sb3(path, PretrainConfig(), make_env("Pendulum-v1"))


def _imported(path: Path) -> tuple[Any, dict[str, Any]]:
    """The imported agent and its meta."""
    ckpt = _checkpoint(path)
    return ckpt.make_agent(ckpt.meta["obs_dim"], ckpt.meta["act_dim"]), ckpt.meta


def _action_error(sb3_model: Any, agent: Any) -> float:
    """max |SB3 predict(s, deterministic) - env action of wsdiag's pi(s)| over a batch, where
    the env action is what wsdiag's [-1, 1] rescaling wrapper sends to Pendulum."""
    env, obs = make_env("Pendulum-v1"), _observations()
    expected, _ = sb3_model.predict(obs, deterministic=True)
    ours = np.stack([env.action(a) for a in agent.act(obs, explore=False)])
    assert ours.shape == expected.shape
    return float(np.abs(ours - expected).max())


def _critic_error(sb3_model: Any, agent: Any, target: bool = False) -> float:
    """max |Q_e(s, a)| difference over every critic e, at the policy's actions and random ones."""
    obs = torch.as_tensor(_observations())
    acts = torch.cat([torch.rand(256, 1) * 2 - 1, agent.policy(obs).detach()])
    obs = torch.cat([obs, obs])
    sb3_critic = sb3_model.critic_target if target else sb3_model.critic
    ours = agent.critic_target if target else agent.critic
    with torch.no_grad():
        expected = torch.cat(sb3_critic(obs, acts), dim=1).T  # [E, N]
        return float((ours(obs, acts) - expected).abs().max())


def test_td3_actor_and_critics_reproduce_sb3(sb3: Any, td3_zip: Path) -> None:
    model = sb3.TD3.load(td3_zip, device="cpu")
    agent, meta = _imported(td3_zip)
    assert meta["algo"] == "td3" and meta["sb3"]["net_arch"] == {"pi": [32, 32], "qf": [32, 32]}
    assert meta["sb3"]["imported"] == ["actor", "actor_target", "critic", "critic_target"]
    assert agent.cfg.hidden == (32, 32) and agent.ensemble == 2
    assert _action_error(model, agent) < TOL
    assert _critic_error(model, agent) < TOL and _critic_error(model, agent, target=True) < TOL
    obs = torch.as_tensor(_observations())
    with torch.no_grad():
        assert torch.allclose(agent.actor_target(obs), model.actor_target(obs), atol=TOL)


def test_sac_actor_temperature_and_critics_reproduce_sb3(sb3: Any, sac_zip: Path) -> None:
    model = sb3.SAC.load(sac_zip, device="cpu")
    agent, meta = _imported(sac_zip)
    assert meta["algo"] == "sac" and agent.cfg.hidden == (48, 24)
    assert _action_error(model, agent) < TOL
    assert _critic_error(model, agent) < TOL and _critic_error(model, agent, target=True) < TOL
    assert agent.log_alpha.item() == pytest.approx(model.log_ent_coef.detach().item(), abs=1e-7)
    obs = torch.as_tensor(_observations())
    with torch.no_grad():  # the whole Gaussian, not only its mode: SB3 clamps log-std as we do
        mean, log_std, _ = model.actor.get_action_dist_params(obs)
        ours_mean, ours_std = agent.actor(obs)
    assert torch.allclose(ours_mean, mean, atol=TOL)
    assert torch.allclose(ours_std, log_std.exp(), rtol=TOL)


def test_ddpg_one_critic_and_sac_with_its_own_critic_widths(sb3: Any, tmp_path: Path) -> None:
    """Untrained models (the mapping does not depend on training): DDPG's single critic, and a
    SAC whose critic widths differ from its actor's (actor imported, critic refused)."""
    ddpg = trained_sb3(sb3, "DDPG", tmp_path, steps=0, policy_kwargs={"net_arch": [16, 8]})
    agent, meta = _imported(ddpg)
    assert meta["algo"] == "ddpg" and agent.ensemble == 1
    model = sb3.DDPG.load(ddpg, device="cpu")
    assert _action_error(model, agent) < TOL and _critic_error(model, agent) < TOL
    td3 = resolve_agent(AgentConfig(algo="td3", hidden=(16, 8)))
    with pytest.raises(WsdiagError, match=re.escape("has 1 critic(s); set finetune.ensemble = 1")):
        check_warm_start(_checkpoint(ddpg), td3, ("actor", "critic"))
    check_warm_start(_checkpoint(ddpg), td3, ("actor",))
    arch = {"net_arch": {"pi": [24, 16], "qf": [40, 8]}}
    sac = trained_sb3(sb3, "SAC", tmp_path, steps=0, policy_kwargs=arch, ent_coef=0.2)
    agent, meta = _imported(sac)
    assert meta["sb3"]["imported"] == ["actor", "log_alpha"]
    assert _action_error(sb3.SAC.load(sac, device="cpu"), agent) < TOL
    assert agent.log_alpha.item() == pytest.approx(np.log(0.2), abs=1e-6)
    finetune = resolve_agent(AgentConfig(algo="sac", hidden=(24, 16)))
    check_warm_start(_checkpoint(sac), finetune, ("actor",))
    with pytest.raises(WsdiagError, match="load only the actor"):
        check_warm_start(_checkpoint(sac), finetune, ("actor", "critic"))
    with pytest.raises(WsdiagError, match="cannot warm-start a td3 actor from a sac actor"):
        check_warm_start(_checkpoint(sac), dataclasses.replace(td3, hidden=(24, 16)), ("actor",))


def test_unsupported_models_are_refused(sb3: Any, tmp_path: Path) -> None:
    kwargs = {"policy_kwargs": {"activation_fn": torch.nn.Tanh}}
    tanh = trained_sb3(sb3, "TD3", tmp_path, steps=0, name="tanh", **kwargs)
    with pytest.raises(
        WsdiagError, match=re.escape("activation_fn 'torch.nn.modules.activation.Tanh'")
    ):
        read_sb3(tanh)
    sde = trained_sb3(sb3, "SAC", tmp_path, steps=0, use_sde=True)
    with pytest.raises(WsdiagError, match="gSDE"):
        read_sb3(sde)
    td3 = trained_sb3(sb3, "TD3", tmp_path, steps=0)
    data = json.loads(zipfile.ZipFile(td3).read("data"))
    data["observation_space"] = {":type:": "<class 'gymnasium.spaces.dict.Dict'>"}
    with pytest.raises(WsdiagError, match=re.escape("spaces.dict.Dict, not a Box; supported")):
        read_sb3(_zip(tmp_path / "dict.zip", data, _policy_bytes(td3)))


def _zip(path: Path, data: dict[str, Any], policy: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", json.dumps(data))
        archive.writestr("policy.pth", policy)
    return path


def _policy_bytes(path: Path) -> bytes:
    return zipfile.ZipFile(path).read("policy.pth")


class _Touch:
    """A pickle that, when loaded, creates a file: code run by unpickling."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickle_in_policy_pth_is_refused_without_running_it(tmp_path: Path) -> None:
    payload = pickle.dumps({"actor.mu.0.weight": _Touch(tmp_path / "ran")})
    pickle.loads(pickle.dumps(_Touch(tmp_path / "live")))  # the payload does run when unpickled
    assert (tmp_path / "live").exists()
    bad = _zip(tmp_path / "bad.zip", {}, payload)
    with pytest.raises(WsdiagError, match=re.escape("policy.pth is not plain tensors, refused")):
        read_sb3(bad)
    buf = io.BytesIO()
    torch.save({"actor.mu.0.weight": _Touch(tmp_path / "ran")}, buf)  # torch's own format too
    with pytest.raises(WsdiagError, match="refused unread"):
        read_sb3(_zip(tmp_path / "bad2.zip", {}, buf.getvalue()))
    assert not (tmp_path / "ran").exists()


# ----------------------------------------------------------------------------- the CLI


def _sb3_args(path: Path, *extra: str) -> list[str]:
    return [*TINY_ARGS, "--set", 'pretrain.source="sb3"', "--set", f'pretrain.path="{path}"',
            "--set", "eval.episodes=2", *extra]  # fmt: skip


def test_train_fine_tunes_from_an_sb3_model(sb3: Any, td3_zip: Path, tmp_path: Path) -> None:
    args = _sb3_args(td3_zip, "--set", "finetune.hidden=[32,32]",
                     "--set", 'warmstart.load=["actor","critic"]')  # fmt: skip
    result = runner.invoke(app, ["train", DEMO_CONFIG, "--out", str(tmp_path), "-q", *args])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "demo-pendulum-td3-seed0"
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    loaded = next(e for e in events if e["event"] == "pretrained_loaded")
    assert loaded["sb3"]["version"] == sb3.__version__ and loaded["algo"] == "td3"
    warm = next(e for e in events if e["event"] == "warm_start")
    assert warm["loaded"] == ["actor", "actor_target", "critic", "critic_target"]
    # The baseline is SB3's own policy, evaluated by SB3's predict on the same start states.
    model, env = sb3.TD3.load(td3_zip, device="cpu"), gym.make("Pendulum-v1")
    returns = []
    for k in range(2):
        obs, _ = env.reset(seed=EVAL_SEED_OFFSET + k)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(
                model.predict(obs, deterministic=True)[0]
            )
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    metrics = read_metrics(run_dir)
    baseline = metrics[metrics.key == "eval/baseline_return"].value.item()
    assert baseline == pytest.approx(np.mean(returns), abs=1e-2)
    check = runner.invoke(app, ["config", "check", DEMO_CONFIG, *args])
    assert check.exit_code == 0, check.output


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("ppo", "an on-policy model (PPO, A2C) is not supported; supported: TD3, DDPG and SAC"),
        ("obs", "made for observations of shape (3,) and actions of shape (1,); "
                "'MountainCarContinuous-v0' has observations (2,)"),
        ("bounds", "its actions span [-1, 1] but those of 'Pendulum-v1' span [-2, 2]"),
        ("missing", "pretrain.path: no SB3 model file at"),
        ("not_zip", "is not a zip file (an SB3 model.save() archive)"),
        ("pickle", "policy.pth is not plain tensors, refused unread"),
        ("hidden", "the model's actor has net_arch [32, 32]; set finetune.hidden = [32, 32]"),
        ("buffer", "an SB3 model.save() zip holds no replay buffer"),
    ],
)  # fmt: skip
def test_bad_sb3_inputs_are_one_line_exit_2(
    request: pytest.FixtureRequest, tmp_path: Path, case: str, text: str
) -> None:
    """The cases that need a real model ask for SB3; the file checks run without it."""
    extra: list[str] = ["--set", "finetune.hidden=[32,32]"]
    with_model = case in ("ppo", "obs", "bounds", "hidden")
    path = td3_zip = request.getfixturevalue("td3_zip") if with_model else tmp_path / "a.zip"
    if case == "ppo":
        path = tmp_path / "ppo.zip"
        request.getfixturevalue("sb3").PPO(
            "MlpPolicy", "Pendulum-v1", n_steps=64, device="cpu"
        ).save(path)
    elif case == "obs":
        extra += ["--set", 'env.id="MountainCarContinuous-v0"']
    elif case == "bounds":
        data = json.loads(zipfile.ZipFile(td3_zip).read("data"))
        data["action_space"] |= {"low": "[-1.]", "high": "[1.]"}
        path = _zip(tmp_path / "bounds.zip", data, _policy_bytes(td3_zip))
    elif case == "missing":
        path = tmp_path / "none.zip"
    elif case == "not_zip":
        path = tmp_path / "model.zip"
        path.write_text("not a zip")
    elif case == "pickle":
        path = _zip(tmp_path / "bad.zip", {}, pickle.dumps({"w": _Touch(tmp_path / "ran")}))
    elif case == "hidden":
        extra = []
    elif case == "buffer":
        extra += ["--set", 'warmstart.load=["actor","buffer"]']
    args = ["train", DEMO_CONFIG, "--out", str(tmp_path / "runs"), "-q", *_sb3_args(path, *extra)]
    one_line_error(runner.invoke(app, args), 2, text)
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_sweep_from_an_sb3_model_has_no_pretraining(td3_zip: Path, tmp_path: Path) -> None:
    extra = f'[set]\n"pretrain.source" = "sb3"\n"pretrain.path" = "{td3_zip}"\n'
    path = tmp_path / "s.toml"
    path.write_text(TINY.format(base=DEMO_CONFIG).replace("[set]\n", extra, 1) + TWO_VARIANTS)
    plan = build_plan(load_sweep(path), tmp_path / "out")
    assert not plan.pretrainings and len(plan.runs) == 4
    assert all(not j.deps and j.config.pretrain.source == "sb3" for j in plan.runs)
    assert "pretrain.source = checkpoint or sb3" in "\n".join(plan.describe())


def test_a_sac_zip_trains_with_no_hand_settings(sb3: Any, sac_zip: Path, tmp_path: Path) -> None:
    """The algorithm, widths and critics come from the zip where the config keeps wsdiag's
    defaults; the zip is kept as the run's reference for `wsdiag probe --checkpoint`."""
    config = tmp_path / "from-sac.toml"
    config.write_text(
        f'name = "from-sac"\nthreads = 1\n[env]\nid = "Pendulum-v1"\n'
        f'[pretrain]\nsource = "sb3"\npath = "{sac_zip}"\n[warmstart]\nwarmup_steps = 100\n'
        "[finetune]\nsteps = 200\n[eval]\nevery = 100\nepisodes = 1\n[probes]\nevery = 100\n"
        "states = 16\n"
    )
    result = runner.invoke(app, ["train", str(config), "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "from-sac-seed0"
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    taken = next(e for e in events if e["event"] == "finetune_from_model")["fields"]
    assert taken == {"algo": "sac", "hidden": [48, 24]}
    probed = runner.invoke(app, ["probe", "--checkpoint", str(run_dir / "checkpoints" / "latest"),
                                 "--rollouts", "16", "-o", str(tmp_path / "p")])  # fmt: skip
    assert probed.exit_code == 0, probed.output
    assert f"reference: {run_dir / 'checkpoints' / 'pretrained'}" in probed.output
    explicit = ["--set", 'finetune.algo="ddpg"']
    refused = runner.invoke(app, ["config", "check", str(config), *explicit])
    assert refused.exit_code == 2 and "sac" in refused.output  # an explicit setting stays


def test_probe_takes_an_sb3_zip_with_its_environment(td3_zip: Path, tmp_path: Path) -> None:
    bare = runner.invoke(app, ["probe", "--checkpoint", str(td3_zip), "--rollouts", "8"])
    one_line_error(bare, 2, "is an SB3 zip, which names no environment: add --env")
    probed = runner.invoke(app, ["probe", "--checkpoint", str(td3_zip), "--env", "Pendulum-v1",
                                 "--reference", str(td3_zip), "--rollouts", "8",
                                 "-o", str(tmp_path / "p")])  # fmt: skip
    assert probed.exit_code == 0, probed.output
    assert f"reference: {td3_zip}" in " ".join(probed.output.split())
    other = runner.invoke(app, ["probe", "--checkpoint", str(td3_zip), "--env",
                                "InvertedPendulum-v5", "--rollouts", "8"])  # fmt: skip
    one_line_error(other, 2, "made for observations of shape (3,)")
    states = tmp_path / "p" / "probes" / "probe_set.npz"
    own = runner.invoke(app, ["probe", "--checkpoint", str(td3_zip), "--env", "Pendulum-v1",
                              "--states", str(states), "--rollouts", "8", "-o",
                              str(tmp_path / "q")])  # fmt: skip
    assert own.exit_code == 0, own.output  # a saved behavioural set instead of rollouts
    from wsdiag.data.probe_set import ProbeSet

    z = np.zeros((4, 5), np.float32)
    ProbeSet(z, z[:, :1], z[:, 0], z, z[:, 0], np.full(4, "b")).save(tmp_path / "wide.npz")
    wide = runner.invoke(app, ["probe", "--checkpoint", str(td3_zip), "--env", "Pendulum-v1",
                               "--states", str(tmp_path / "wide.npz")])  # fmt: skip
    one_line_error(wide, 2, "do not fit observations (3,)")
