"""Datasets: Minari collect / mix / load, retention, mixed sampling, offline-to-online runs."""

from __future__ import annotations

from pathlib import Path

import minari
import numpy as np
import pytest
import torch

from tests.conftest import tiny_config
from wsdiag.config import WarmstartConfig
from wsdiag.data.buffer import ORIGIN_OFFLINE, MixedReplay, ReplayBuffer
from wsdiag.data.build import describe
from wsdiag.data.minari_io import discounted_returns, require_local
from wsdiag.data.minari_read import read_episodes
from wsdiag.data.offline import load_offline_data, retained
from wsdiag.envs import make_env
from wsdiag.errors import WsdiagError
from wsdiag.training.experiment import Experiment
from wsdiag.training.recorder import read_events, read_metrics


def test_collected_dataset_reloads_through_minari(pendulum_datasets: dict[str, str]) -> None:
    dataset = minari.load_dataset(pendulum_datasets["random"])
    assert dataset.total_episodes == 3 and dataset.total_steps == 600
    episode = next(dataset.iterate_episodes())
    assert episode.observations.shape == (201, 3) and episode.actions.shape == (200, 1)
    assert np.abs(episode.actions).max() <= 2.0  # stored in the env's own units
    assert episode.truncations[-1] and not episode.terminations.any()
    meta = next(iter(dataset.storage.get_episode_metadata([0])))
    assert meta["label"] == "random" and meta["policy"] == "random"
    assert dataset.recover_environment().spec.id == "Pendulum-v1"


def test_mix_replaces_the_final_share_by_whole_episodes(pendulum_datasets: dict[str, str]) -> None:
    info = describe(pendulum_datasets["mixed"])
    # 1000 expert transitions (5 episodes): keep <= 700 -> 3 episodes = 600; add random
    # episodes while the total stays <= 1000 -> 2 episodes = 400
    assert info.steps == 1000 and info.episodes == 5
    assert info.labels == {"expert": 600, "non-expert": 400}
    episodes = read_episodes(pendulum_datasets["mixed"])
    assert [ep.metadata["quality"] for ep in episodes] == ["expert"] * 3 + ["random"] * 2
    assert info.ref_min_score is not None


def test_concat_keeps_labels(tmp_path: Path, pendulum_datasets: dict[str, str]) -> None:
    from wsdiag.data.build import concat_dataset

    concat_dataset(
        [pendulum_datasets["expert"], pendulum_datasets["random"]], "test/pendulum/cat-v0"
    )
    assert describe("test/pendulum/cat-v0").labels == {"expert": 1000, "random": 600}


def test_missing_dataset_fails_fast_with_instructions() -> None:
    with pytest.raises(WsdiagError, match="minari download nope/none-v0") as info:
        require_local("nope/none-v0")
    assert "MINARI_DATASETS_PATH" in str(info.value)


def test_discounted_returns_by_hand() -> None:
    np.testing.assert_allclose(discounted_returns(np.array([1.0, 2.0, 3.0]), 0.5),
                               [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0])  # fmt: skip


def test_loaded_transitions_are_rescaled_and_labelled(pendulum_datasets: dict[str, str]) -> None:
    env = make_env("Pendulum-v1")
    data = load_offline_data(pendulum_datasets["mixed"], env, gamma=0.99)
    raw = read_episodes(pendulum_datasets["mixed"])
    assert len(data) == 1000 and data.arrays["obs"].shape == (1000, 3)
    np.testing.assert_allclose(data.arrays["actions"][:200], raw[0].actions / 2.0, rtol=1e-6)
    np.testing.assert_array_equal(data.arrays["next_obs"][:199], data.arrays["obs"][1:200])
    assert (data.labels[:600] == "expert").all() and (data.labels[600:] == "non-expert").all()
    np.testing.assert_allclose(data.arrays["mc_return"][199], raw[0].rewards[-1], rtol=1e-5)
    with pytest.raises(WsdiagError, match=r"observations \(3,\)"):
        load_offline_data(pendulum_datasets["mixed"], make_env("InvertedPendulum-v5"), 0.99)


@pytest.mark.parametrize(
    ("mode", "extra", "kept"),
    [
        ("all", {}, 1000),
        ("none", {}, None),
        ("fraction", {"offline_fraction": 0.05}, 50),
        ("fraction", {"offline_fraction": 0.05, "offline_min_transitions": 300}, 300),
        ("dataset_warmup", {"dataset_warmup_transitions": 123}, 123),
    ],
)
def test_retention_modes(pendulum_datasets: dict[str, str], mode, extra, kept) -> None:
    data = load_offline_data(pendulum_datasets["mixed"], make_env("Pendulum-v1"), 0.99)
    out = retained(data, WarmstartConfig(offline_data=mode, **extra), seed=0)
    assert (out is None) if kept is None else len(out) == kept


def test_mixed_replay_draws_the_ratio() -> None:
    online, offline = ReplayBuffer(100, 2, 1), ReplayBuffer(100, 2, 1)
    offline.add_many({"obs": np.zeros((50, 2)), "actions": np.zeros((50, 1)),
                      "rewards": np.zeros(50), "origin": np.full(50, ORIGIN_OFFLINE)})  # fmt: skip
    mixed = MixedReplay(online, offline, ratio=0.25)
    assert (mixed.sample(16).origin == ORIGIN_OFFLINE).all()  # online empty: offline only
    online.add(np.ones(2), np.ones(1), 1.0, np.ones(2), False, False)
    batch = mixed.sample(64)
    assert len(batch) == 64 and int((batch.origin == ORIGIN_OFFLINE).sum()) == 16


@pytest.mark.parametrize(
    "warmstart",
    [
        {"offline_data": "all"},
        {"offline_data": "all", "offline_ratio": 0.5},
        {"offline_data": "fraction", "offline_fraction": 0.1},
        {"offline_data": "none"},
        {"offline_data": "dataset_warmup", "dataset_warmup_transitions": 64},
    ],
    ids=lambda w: "-".join(str(v) for v in w.values()),
)
def test_offline_pretrain_then_finetune(
    pendulum_datasets: dict[str, str], runs: Path, warmstart: dict
) -> None:
    config = tiny_config(
        pretrain={"source": "offline", "dataset": pendulum_datasets["mixed"], "steps": 100},
        finetune={"steps": 200},
        warmstart={"warmup_steps": 50, "freeze_policy_steps": 0, **warmstart},
        eval={"every": 100},
        probes={"every": 100, "states": 32, "n_perturb": 8, "landscape_perturb": 16},
    )
    run_dir = Experiment.create(config, runs, progress="none").run()
    events = read_events(run_dir)
    warm = next(e for e in events if e["event"] == "warm_start")
    inserted = {"all": 1000, "fraction": 100, "none": 0, "dataset_warmup": 64}
    expected = 0 if warmstart.get("offline_ratio") else inserted[warmstart["offline_data"]]
    assert warm["transitions"] == expected and warm["offline_data"] == warmstart["offline_data"]
    frame = read_metrics(run_dir)
    assert "eval/normalized_return" in set(frame.key)
    assert {"probe/divergence/expert", "probe/divergence/non-expert"} <= set(frame.key)
    pre = frame[(frame.phase == "pretrain") & (frame.key == "train/updates")]
    assert pre.value.max() == 100  # one gradient step per offline step
    assert not (run_dir / "checkpoints" / "pretrained" / "buffer.npz").exists()


def test_offline_config_errors() -> None:
    with pytest.raises(WsdiagError, match=r"needs pretrain\.dataset"):
        tiny_config(pretrain={"source": "offline"})
    with pytest.raises(WsdiagError, match="offline_data, not load"):
        tiny_config(pretrain={"source": "offline", "dataset": "x"}, warmstart={"load": ["buffer"]})
    config = tiny_config(pretrain={"source": "offline", "dataset": "nope/missing-v0"})
    with pytest.raises(WsdiagError, match="not on this machine"):
        Experiment.create(config, Path("/tmp/never-created"), progress="none")


def test_td3bc_standardises_observations_by_the_dataset_and_the_warm_start_keeps_it(
    pendulum_datasets: dict[str, str], runs: Path
) -> None:
    """Fujimoto & Gu's code: (s - mean) / (std + 1e-3) of the dataset, for every network input."""
    from wsdiag.agents.checkpoint import load_checkpoint
    from wsdiag.data.offline import load_offline_data
    from wsdiag.envs import make_env

    dataset = pendulum_datasets["mixed"]
    config = tiny_config(
        pretrain={"source": "offline", "dataset": dataset, "algo": "td3bc", "steps": 50},
        finetune={"steps": 100},
        warmstart={"warmup_steps": 50, "load": ["actor"]},
        probes={"every": 0},
    )
    assert config.pretrain.normalize_obs and not config.finetune.normalize_obs
    run_dir = Experiment.create(config, runs, progress="none").run()
    obs = load_offline_data(dataset, make_env("Pendulum-v1"), 0.99).arrays["obs"]
    mean, std = obs.mean(0), obs.std(0) + 1e-3
    pretrained = load_checkpoint(run_dir / "checkpoints" / "pretrained").make_agent(3, 1)
    finetuned = load_checkpoint(run_dir / "checkpoints" / "latest").make_agent(3, 1)
    for agent in (pretrained, finetuned):  # the fresh critic of the actor-only warm start too
        for norm in (agent.actor.obs_norm, agent.critic.obs_norm, agent.critic_target.obs_norm):
            np.testing.assert_allclose(norm.mean.numpy(), mean, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(norm.std.numpy(), std, rtol=1e-5)
    raw = torch.as_tensor(obs[:5])
    by_hand = torch.tanh(pretrained.actor.net((raw - torch.as_tensor(mean)) / torch.as_tensor(std)))
    torch.testing.assert_close(pretrained.policy(raw), by_hand.float(), rtol=1e-5, atol=1e-6)
    warm = next(e for e in read_events(run_dir) if e["event"] == "warm_start")
    assert "obs_stats" in warm["loaded"]


def test_a_checkpoint_saved_before_observation_statistics_loads_with_the_identity() -> None:
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig

    agent = make_agent(AgentConfig(hidden=(8,)), 3, 1)
    state = agent.state_dict()
    for key in ("actor", "actor_target", "critic", "critic_target"):
        state[key] = {k: v for k, v in state[key].items() if "obs_norm" not in k}
    other = make_agent(AgentConfig(hidden=(8,)), 3, 1)
    other.load_state_dict(state)
    mean, std = other.obs_stats()
    assert torch.all(mean == 0) and torch.all(std == 1)


def test_an_offline_run_can_reuse_a_pretrained_agent_and_keep_its_dataset(
    pendulum_datasets: dict[str, str], runs: Path
) -> None:
    """How a sweep shares an offline pretraining: pretrain.path with source = offline."""
    dataset = pendulum_datasets["mixed"]
    first = tiny_config(
        pretrain={"source": "offline", "dataset": dataset, "steps": 50},
        warmstart={"offline_data": "fraction", "offline_fraction": 0.1},
        probes={"every": 0},
    )
    pre = Experiment.create(first, runs, progress="none").run(until="pretrain")
    again = tiny_config(
        name="again",
        pretrain={"source": "offline", "dataset": dataset, "steps": 50, "path": str(pre)},
        warmstart={"offline_data": "fraction", "offline_fraction": 0.1},
        probes={"every": 0},
    )
    run_dir = Experiment.create(again, runs, progress="none").run()
    events = read_events(run_dir)
    assert not any(e["event"] == "pretrain_end" for e in events)  # not trained again
    warm = next(e for e in events if e["event"] == "warm_start")
    assert warm["transitions"] == 100 and warm["pretrained"].endswith("pretrained")
