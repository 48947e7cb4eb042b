"""Environments: Dict observations flattened in the documented order, [env] kwargs and imports,
success rates, and the refusal of tasks that the installed mujoco cannot run."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import one_line_error, tiny_config
from tests.toy_envs import HORIZON, register_goal_reach, towards_goal
from wsdiag.cli.main import app
from wsdiag.config import from_dict, load_config
from wsdiag.envs import (
    FlattenDict,
    Part,
    check_env,
    check_mujoco_for,
    dict_key_order,
    evaluate_episodes,
    flatten_batch,
    make_env,
    mujoco_version,
    observation_parts,
)
from wsdiag.errors import WsdiagError
from wsdiag.rundir import read_metrics
from wsdiag.training.experiment import Experiment

GOAL = register_goal_reach()
runner = CliRunner()


# ----------------------------------------------------------------------------- flattening


def test_key_order_puts_the_goal_keys_first_and_sorts_the_rest() -> None:
    goal = ["desired_goal", "observation", "achieved_goal"]
    assert dict_key_order(goal) == ("observation", "achieved_goal", "desired_goal")
    assert dict_key_order([*goal, "b", "a"]) == (
        "observation", "achieved_goal", "desired_goal", "a", "b"
    )  # fmt: skip
    assert dict_key_order(["velocity", "position", "achieved_goal"]) == (
        "achieved_goal", "position", "velocity"
    )  # fmt: skip


def test_a_goal_conditioned_dict_is_flattened_as_observation_achieved_desired() -> None:
    env = make_env(GOAL)
    assert env.observation_space.shape == (7,)
    assert observation_parts(env) == (
        Part("observation", 0, 3), Part("achieved_goal", 3, 5), Part("desired_goal", 5, 7)
    )  # fmt: skip
    obs, _ = env.reset(seed=4)
    raw = env.unwrapped._obs()
    assert np.array_equal(obs[:2], raw["observation"][:2]) and obs[2] == 0.0
    assert np.array_equal(obs[3:5], raw["achieved_goal"])
    assert np.array_equal(obs[5:], raw["desired_goal"])
    low, high = env.observation_space.low, env.observation_space.high
    assert np.isneginf(low[:3]).all() and (low[3:5] == -3).all() and (high[5:] == 1).all()
    obs, *_ = env.step(np.ones(2, np.float32))  # [-1, 1] -> the env's [-2, 2]: p moves 0.2
    assert np.allclose(obs[3:5], raw["achieved_goal"] + 0.2)
    assert obs[2] == pytest.approx(1 / HORIZON)


class _Leaves(gym.Env):
    """A Dict observation of the given leaves (not goal-conditioned)."""

    def __init__(self, leaves: dict) -> None:
        self.observation_space = gym.spaces.Dict(leaves)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def _register(name: str, leaves: dict) -> str:
    if name not in gym.registry:
        gym.register(name, entry_point=lambda: _Leaves(leaves), max_episode_steps=5)
    return name


def test_other_dicts_are_flattened_in_sorted_key_order_each_part_in_c_order() -> None:
    box = gym.spaces.Box
    leaves = {"b": box(0.0, 1.0, (2,)), "a": box(-5.0, 5.0, (2, 2))}
    env = make_env(_register("WsdiagSorted-v0", leaves))
    assert observation_parts(env) == (Part("a", 0, 4), Part("b", 4, 6))
    raw = {"a": np.arange(4.0).reshape(2, 2), "b": np.array([7.0, 8.0])}
    flatten = env.env  # inside the action rescaling
    assert isinstance(flatten, FlattenDict)
    assert np.array_equal(flatten.observation(raw), [0, 1, 2, 3, 7, 8])
    assert observation_parts(make_env("Pendulum-v1")) is None


@pytest.mark.parametrize(
    ("leaves", "message"),
    [
        ({"x": gym.spaces.Dict({"y": gym.spaces.Box(0, 1, (2,))})}, "nested Dict observation"),
        ({"x": gym.spaces.Discrete(3)}, "part 'x' is a Discrete"),
    ],
)
def test_nested_dicts_and_non_box_leaves_are_refused(leaves: dict, message: str) -> None:
    name = f"WsdiagBadLeaves{len(message)}-v0"
    with pytest.raises(WsdiagError, match=message):
        make_env(_register(name, leaves))


def test_dataset_dict_observations_flatten_in_the_same_order() -> None:
    stored = {"desired_goal": np.full((3, 2), 9.0), "observation": np.ones((3, 1, 2)),
              "achieved_goal": np.zeros((3, 2))}  # fmt: skip
    flat = flatten_batch(stored)
    assert flat.shape == (3, 6)
    assert np.array_equal(flat[0], [1, 1, 0, 0, 9, 9])


def test_datasets_collected_from_a_dict_env_hold_flat_observations() -> None:
    from wsdiag.data.build import collect_dataset
    from wsdiag.data.minari_read import read_episodes
    from wsdiag.data.offline import load_offline_data

    collect_dataset("test/goal/random-v0", env_id=GOAL, steps=50, seed=0, ref_episodes=1)
    episodes = read_episodes("test/goal/random-v0")
    assert episodes[0].observations.shape == (HORIZON + 1, 7)
    data = load_offline_data("test/goal/random-v0", make_env(GOAL), 0.99)
    assert data.arrays["obs"].shape == (50, 7)


def test_a_minari_dataset_with_dict_observations_loads_flattened() -> None:
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    from wsdiag.data.offline import load_offline_data

    raw = gym.make(GOAL)  # the Dict observations, as Minari's own datasets of goal tasks hold them
    obs, _ = raw.reset(seed=0)
    steps = [obs]
    for _ in range(5):
        steps.append(raw.step(raw.action_space.sample())[0])
    observations = {k: np.stack([o[k] for o in steps]) for k in obs}
    buffer = EpisodeBuffer(id=0, observations=observations, actions=np.zeros((5, 2), np.float32),
                           rewards=np.zeros(5), terminations=np.zeros(5, bool),
                           truncations=np.r_[np.zeros(4, bool), True], infos={})  # fmt: skip
    with warnings.catch_warnings():  # Minari asks for an author, an e-mail, ...
        warnings.simplefilter("ignore", UserWarning)
        minari.create_dataset_from_buffers("test/goal/dict-v0", [buffer], env=GOAL)
    data = load_offline_data("test/goal/dict-v0", make_env(GOAL), 0.99)
    first = data.arrays["obs"][0]
    want = np.r_[steps[0]["observation"], steps[0]["achieved_goal"], steps[0]["desired_goal"]]
    assert data.arrays["obs"].shape == (5, 7) and np.allclose(first, want)


# ----------------------------------------------------------------------------- success rates


def test_success_counts_an_episode_whose_final_step_reports_it() -> None:
    env = make_env(GOAL)
    reach = evaluate_episodes(towards_goal, env, 4, seed=0)
    assert reach.success_rate == 1.0 and reach.successes.shape == (4,)
    still = evaluate_episodes(lambda obs: np.zeros(2, np.float32), env, 4, seed=0)
    assert still.success_rate == 0.0

    def there_and_away(obs: np.ndarray) -> np.ndarray:  # at the goal by t = 15, then leaves
        t = obs[2] * HORIZON
        return towards_goal(obs) if t < 15 else np.ones(2, np.float32)

    touched = evaluate_episodes(there_and_away, env, 4, seed=0)
    assert touched.success_rate == 0.0  # success mid-episode does not count
    assert evaluate_episodes(towards_goal, make_env("Pendulum-v1"), 1, 0).successes is None


def test_evaluations_record_the_success_rate_and_its_baseline(runs: Path) -> None:
    run_dir = Experiment.create(_goal_config(), runs, progress="none").run()
    frame = read_metrics(run_dir)
    success = frame[frame.key == "eval/success"]
    returns = frame[frame.key == "eval/return"]
    assert len(success) == len(returns) and len(success) > 4
    assert set(np.round(success.value * 4, 9)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    (baseline,) = frame[frame.key == "eval/baseline_success"].value
    first = success[(success.step == 0) & (success.phase != "pretrain")].value
    assert baseline == first.iloc[0]
    event = next(e for e in _events(run_dir) if e["event"] == "baseline")
    assert event["success"] == baseline


def _goal_config(**env):
    """A tiny run on the toy goal task: 4 evaluations of 4 episodes per stage, probes off."""
    return tiny_config(
        env={"id": GOAL, **env},
        pretrain={"steps": 200, "learning_starts": 100},
        warmstart={"warmup_steps": 50, "freeze_policy_steps": 0},
        finetune={"steps": 200},
        eval={"every": 50, "episodes": 4},
        probes={"every": 0, "states": 32, "n_perturb": 8, "landscape_perturb": 16},
        checkpoint={"every": 0},
    )


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------------------- kwargs, imports


def test_kwargs_reach_gym_make_and_the_saved_config_and_the_checkpoint(runs: Path) -> None:
    from wsdiag.probes.on_checkpoint import probe_checkpoint

    assert make_env(GOAL, kwargs={"speed": 0.5}).unwrapped.speed == 0.5
    config = _goal_config(kwargs={"extra": 2})
    run_dir = Experiment.create(config, runs, progress="none").run()
    saved = load_config(run_dir / "config.toml")
    assert saved.env.kwargs == {"extra": 2} and saved == config
    assert "[env.kwargs]\nextra = 2" in (run_dir / "config.toml").read_text()
    # the probe's env has 9-dimensional observations only if it is made with the run's kwargs
    result = probe_checkpoint(run_dir, rollouts=20, out=runs / "probe")
    assert result.arrays and result.step > 0
    with pytest.raises(WsdiagError, match="cannot make environment"):
        make_env(GOAL, kwargs={"sped": 0.5})


def test_imports_register_environments_before_gym_make(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "wsdiag_toy_plugin.py").write_text(
        "import gymnasium as gym\n"
        "from tests.toy_envs import GoalReach\n"
        "gym.register('WsdiagPlugin-v0', entry_point=GoalReach, max_episode_steps=5)\n"
    )
    (tmp_path / "wsdiag_broken_plugin.py").write_text("raise RuntimeError('no licence\\nfound')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(WsdiagError, match="unknown environment id 'WsdiagPlugin-v0'"):
        check_env("WsdiagPlugin-v0")
    env = make_env("WsdiagPlugin-v0", imports=["wsdiag_toy_plugin"])
    assert env.observation_space.shape == (7,)
    with pytest.raises(WsdiagError) as missing:
        check_env("Pendulum-v1", ["wsdiag_no_such_module"])
    assert str(missing.value) == (
        "env.imports: cannot import 'wsdiag_no_such_module': ModuleNotFoundError: "
        "No module named 'wsdiag_no_such_module'"
    )
    with pytest.raises(WsdiagError, match=r"RuntimeError: no licence$"):
        check_env("Pendulum-v1", ["wsdiag_broken_plugin"])
    for name in ("wsdiag_toy_plugin", "wsdiag_broken_plugin"):
        sys.modules.pop(name, None)


def test_imports_find_a_module_in_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "wsdiag_cwd_plugin.py").write_text(
        "import gymnasium as gym\n"
        "from tests.toy_envs import GoalReach\n"
        "gym.register('WsdiagCwdPlugin-v0', entry_point=GoalReach, max_episode_steps=5)\n"
    )
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.chdir(tmp_path)
    try:
        assert make_env("WsdiagCwdPlugin-v0", imports=["wsdiag_cwd_plugin"]).spec is not None
    finally:
        sys.modules.pop("wsdiag_cwd_plugin", None)


def test_a_module_that_fails_to_import_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[env]\nid = "Pendulum-v1"\nimports = ["wsdiag_no_such_module"]\n')
    for command in (["config", "check"], ["train", "--out", str(tmp_path / "runs")]):
        result = runner.invoke(app, [*command, str(path)])
        one_line_error(result, 2, "env.imports: cannot import 'wsdiag_no_such_module'")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"kwargs": "sparse"}, "env.kwargs: expected a table of keyword arguments, got 'sparse'"),
        ({"kwargs": {"maze": {"a": 1}}}, "env.kwargs.maze: expected a string, number, boolean"),
        ({"kwargs": {"max_episode_steps": 9}}, "set env.max_episode_steps instead"),
        ({"imports": "gymnasium_robotics"}, "env.imports: expected a list"),
        ({"imports": ["gymnasium robotics"]}, "'gymnasium robotics' is not a module name"),
        ({"imports": [3]}, "env.imports: expected a string"),
    ],
)
def test_bad_kwargs_and_imports_are_refused_when_the_config_loads(env: dict, message: str) -> None:
    with pytest.raises(WsdiagError, match=message):
        from_dict({"env": {"id": "Pendulum-v1", **env}})


def test_kwargs_take_scalars_and_nested_lists_and_set_overrides(tmp_path: Path) -> None:
    kwargs = {"reward_type": "sparse", "scale": 0.5, "on": True, "maze_map": [[1, 1], [1, 0]]}
    assert from_dict({"env": {"kwargs": kwargs}}).env.kwargs == kwargs
    (tmp_path / "c.toml").write_text('[env]\nid = "Pendulum-v1"\n')
    config = load_config(tmp_path / "c.toml", ['env.kwargs.reward_type="dense"'])
    assert config.env.kwargs == {"reward_type": "dense"}


def test_the_pretraining_hash_includes_kwargs_and_imports() -> None:
    from wsdiag.sweep.plan import pretraining_key

    plain = tiny_config()
    assert pretraining_key(plain) == "273442172f68"  # as computed before env.kwargs existed
    sparse = tiny_config(env={"kwargs": {"reward_type": "sparse"}})
    assert pretraining_key(sparse) not in (pretraining_key(plain), pretraining_key(
        tiny_config(env={"kwargs": {"reward_type": "dense"}})))  # fmt: skip
    assert pretraining_key(sparse) == pretraining_key(
        tiny_config(env={"kwargs": {"reward_type": "sparse"}})
    )
    assert pretraining_key(tiny_config(env={"imports": ["json"]})) != pretraining_key(plain)


# ----------------------------------------------------------------------------- mujoco


def test_fetch_is_refused_with_mujoco_from_3_12_on() -> None:
    for version in ((3, 12, 0), (4, 0, 0)):
        with pytest.raises(WsdiagError) as refused:
            check_mujoco_for("FetchPush-v4", version)
        text = str(refused.value)
        assert "'FetchPush-v4' needs mujoco < 3.12" in text and "\n" not in text
        assert 'pip install "mujoco>=3.3.7,<3.12"' in text
    for env_id, version in (("FetchPush-v4", (3, 11, 0)), ("AdroitHandDoor-v1", (4, 0, 0)),
                            ("AntMaze_UMaze-v5", (4, 0, 0))):  # fmt: skip
        check_mujoco_for(env_id, version)


def test_a_fetch_config_is_refused_before_anything_runs(tmp_path: Path) -> None:
    pytest.importorskip("gymnasium_robotics", reason="needs the robotics extra")
    version = mujoco_version()
    if version is None or version < (3, 12):
        pytest.skip(f"mujoco {version} runs Fetch")
    config = Path(__file__).parent.parent / "examples" / "robotics" / "fetch_push_dense.toml"
    result = runner.invoke(app, ["train", str(config), "--out", str(tmp_path / "runs")])
    one_line_error(result, 2, "'FetchPush-v4' needs mujoco < 3.12")
    assert not (tmp_path / "runs").exists()


def test_iql_policy_counts_in_the_pretraining_hash_only_for_iql() -> None:
    """A TD3 pretraining keeps its key; an IQL one at the old "squashed" reading keeps the key
    of the versions before the field, and the default "tanh_mean" is a new pretraining."""
    from wsdiag.sweep.plan import pretraining_key

    plain = tiny_config()
    assert pretraining_key(tiny_config(pretrain={"iql_policy": "squashed"})) == pretraining_key(
        plain
    )
    iql = {"algo": "iql", "source": "offline", "dataset": "wsdiag/pendulum/expert-v0"}
    sac = {"algo": "sac"}  # an IQL actor starts SAC (the pretraining's key leaves it out)
    squashed = tiny_config(pretrain={**iql, "iql_policy": "squashed"}, finetune=sac)
    tanh_mean = tiny_config(pretrain=iql, finetune=sac)
    assert pretraining_key(squashed) != pretraining_key(tanh_mean)
    assert pretraining_key(squashed) == "503729871b79"  # as computed before iql_policy existed
