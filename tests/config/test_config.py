"""Config: defaults, TOML round trip, overrides, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsdiag.config import Config, dump_config, from_dict, load_config
from wsdiag.errors import WsdiagError

CONFIGS = sorted((Path(__file__).parents[2] / "wsdiag" / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path: Path) -> None:
    assert isinstance(load_config(path), Config)


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    config = from_dict({"finetune": {"hidden": [64, 64], "ensemble": 10}, "pretrain": {}})
    (tmp_path / "c.toml").write_text(dump_config(config))
    assert load_config(tmp_path / "c.toml") == config
    assert config.finetune.hidden == (64, 64)


def test_overrides_are_toml_values(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('name = "x"\n[finetune]\nsteps = 100\n')
    config = load_config(
        tmp_path / "c.toml",
        ["finetune.steps=50", "finetune.hidden=[8, 8]", "name=plain", "warmstart.warmup_steps=0"],
    )
    assert config.finetune.steps == 50 and config.finetune.hidden == (8, 8)
    assert config.name == "plain" and config.warmstart.warmup_steps == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"finetune": {"stepz": 1}}, "unknown config key 'finetune.stepz' (did you mean 'steps'?)"),
        ({"evals": {}}, "unknown config key 'evals' (did you mean 'eval'?)"),
        ({"finetune": {"algo": "td4"}}, "finetune.algo = 'td4' is not one of td3, ddpg, sac"),
        ({"finetune": {"steps": "many"}}, "finetune.steps: expected an integer"),
        ({"finetune": {"layer_norm": 1}}, "finetune.layer_norm: expected true or false"),
        ({"warmstart": {"load": ["actor", "brain"]}}, "warmstart.load = 'brain'"),
        ({"pretrain": {"source": "checkpoint"}}, "needs pretrain.path"),
        ({"finetune": {"ensemble": 2, "target_subset": 3}}, "exceeds finetune.ensemble"),
        ({"warmstart": {"warmup_steps": 10**6}}, "exceed finetune.steps"),
        ({"env": 3}, "env: expected a [env] table"),
        (
            {
                "pretrain": {"source": "offline", "algo": "bc", "dataset": "a/b-v0"},
                "finetune": {"algo": "sac"},
            },
            "the bc actor (deterministic) cannot start a sac agent",
        ),
        (
            {
                "pretrain": {"source": "offline", "algo": "cql", "dataset": "a/b-v0"},
                "finetune": {"algo": "td3"},
            },
            "the cql actor (gaussian) cannot start a td3 agent",
        ),
    ],
)
def test_bad_configs_give_clear_errors(data: dict, message: str) -> None:
    with pytest.raises(WsdiagError) as info:
        from_dict(data)
    assert message in str(info.value)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("name = [unclosed\n")
    with pytest.raises(WsdiagError, match="invalid TOML"):
        load_config(tmp_path / "bad.toml")
    with pytest.raises(WsdiagError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    (tmp_path / "good.toml").write_text('name = "x"\n')
    with pytest.raises(WsdiagError, match=r"section\.key=value"):
        load_config(tmp_path / "good.toml", ["novalue"])


EXAMPLES = sorted(
    p
    for p in (Path(__file__).parents[2] / "examples").glob("**/*.toml")
    if not {"sweeps", "benchmark"} & set(p.parts)
)  # sweep files are checked by test_example_sweeps_plan_and_fit_their_pretrainings and
# test_the_benchmark_sweeps_pass_the_config_checks


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_configs_load(path: Path) -> None:
    assert isinstance(load_config(path), Config)


@pytest.mark.parametrize("name", ["mitigations", "wsrl"])
def test_example_sweeps_plan_and_fit_their_pretrainings(name: str, tmp_path: Path) -> None:
    from wsdiag.sweep.plan import build_plan
    from wsdiag.sweep.spec import load_sweep

    root = Path(__file__).parents[2]
    plan = build_plan(load_sweep(root / "examples" / "sweeps" / f"{name}.toml"), tmp_path)
    pretrainings = {j.name: j.config.pretrain for j in plan.pretrainings}
    assert plan.runs and len(pretrainings) <= len(plan.runs)
    for run in plan.runs:
        pretrain, config = pretrainings[run.deps[0]], run.config
        fit = ["hidden", "layer_norm"] + ["ensemble"] * ("critic" in config.warmstart.load)
        for field in fit:  # the warm start must find the same architecture
            assert getattr(config.finetune, field) == getattr(pretrain, field), (run.name, field)


BAD_VALUES = [
    ("seed", -1), ("threads", -2), ("device", "tpu"), ("device", "cuda:x"), ("name", "a/b"),
    ("env.max_episode_steps", 0),
    ("pretrain.steps", 0), ("pretrain.learning_starts", -1), ("pretrain.actor_lr", 0.0),
    ("finetune.critic_lr", -1e-3), ("finetune.alpha_lr", 0.0), ("finetune.value_lr", -1.0),
    ("finetune.utd", 0), ("finetune.batch_size", 0), ("finetune.buffer_size", 0),
    ("finetune.policy_delay", 0), ("finetune.ensemble", 0), ("finetune.gamma", 1.5),
    ("finetune.tau", 0.0), ("finetune.expl_noise", -0.1), ("finetune.policy_noise", -0.1),
    ("finetune.noise_clip", -1.0), ("finetune.init_alpha", 0.0), ("finetune.bc_alpha", -1.0),
    ("finetune.bc_reduce", "max"), ("finetune.iql_expectile", 1.5), ("finetune.iql_beta", -1.0),
    ("finetune.iql_max_weight", 0.0), ("finetune.iql_atanh_eps", 0.0), ("finetune.cql_alpha", -1),
    ("pretrain.iql_policy", "gaussian"),
    ("finetune.cql_n_actions", 0), ("finetune.cql_temperature", 0.0), ("finetune.bcq_phi", 0.0),
    ("finetune.bcq_hidden", [0]), ("finetune.hidden", []), ("finetune.actor_q", "max"),
    ("warmstart.warmup_steps", -1), ("warmstart.freeze_policy_steps", -1),
    ("warmstart.offline_fraction", 0.0), ("warmstart.offline_min_transitions", -1),
    ("warmstart.offline_ratio", 1.0), ("warmstart.dataset_warmup_transitions", 0),
    ("warmstart.warmup_policy", "expert"), ("warmstart.offline_data", "some"),
    ("eval.every", 0), ("eval.episodes", 0), ("log.train_every", 0),
    ("probes.every", -1), ("probes.states", 0), ("probes.n_perturb", 0), ("probes.sigma", 0.0),
    ("probes.drift_actions", 1), ("probes.divergence_q", 101.0), ("probes.reduce", "max"),
    ("checkpoint.every", -1), ("checkpoint.keep", 0),
    ("mitigation.bc_penalty.alpha", -1.0), ("mitigation.bc_penalty.form", "l1"),
    ("mitigation.pqd.alpha", 2.0), ("mitigation.ccl_pqd.p_start", 1.0),
    ("mitigation.ccl_pqd.states", "all"), ("mitigation.ccl_bc.target", "expert"),
    ("mitigation.grad_clip.max_norm", 0.0), ("mitigation.lr_scale.scale", 0.0),
    ("mitigation.critic_bc.bc_reduce", "max"), ("mitigation.gradient_penalty.actions", "gauss"),
    ("mitigation.critic_weighted.normalise", "z"), ("mitigation.td3bc_pp.every", 0),
    ("mitigation.adaptive_bc.variant", "pid"), ("mitigation.adaptive_bc.ref_episodes", 0),
    ("mitigation.jsrl.stages", 0), ("mitigation.jsrl_random.gamma", 1.0),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value"), BAD_VALUES, ids=[k for k, _ in BAD_VALUES])
def test_every_range_is_checked_when_the_config_loads(key: str, value: object) -> None:
    from wsdiag.config import apply_overrides

    text = f"{key}={value!r}".replace("'", '"').replace("True", "true")
    with pytest.raises(WsdiagError) as info:
        from_dict(apply_overrides({}, [text]))
    assert key.split(".")[-1] in str(info.value), str(info.value)


def test_algorithm_defaults_are_resolved_into_the_saved_config() -> None:
    config = from_dict(
        {
            "finetune": {"algo": "sac", "ensemble": 10},
            "pretrain": {"algo": "ddpg"},
            "warmstart": {"load": []},
        }
    )  # fmt: skip  (a ddpg actor cannot start sac)
    assert (config.finetune.actor_q, config.finetune.target_subset) == ("mean", 2)
    assert config.finetune.policy_delay == 1
    assert (config.pretrain.ensemble, config.pretrain.target_subset) == (1, 1)
    text = dump_config(config)
    assert "ensemble = 10" in text and "ensemble = 1\n" in text and 'actor_q = "mean"' in text


OLD_MITIGATION_TABLES = """
[mitigation]
name = "{name}"
[mitigation.bc_penalty]
alpha = 0.1
form = "eq6"
controller = "fixed"
bc_reduce = "sum"
target = "pretrained"
[mitigation.bcq]
phi = 0.05
hidden = [400, 300]
"""


def test_configs_saved_by_earlier_versions_still_load(tmp_path: Path) -> None:
    """Earlier run directories wrote every mitigation table with its defaults."""
    from wsdiag.config.mitigations import bc_penalty

    path = tmp_path / "config.toml"
    path.write_text(OLD_MITIGATION_TABLES.format(name="none"))
    config = load_config(path)  # a resume: checked, what no longer exists dropped
    assert config.mitigation.tables == {"bc_penalty": bc_penalty.Params()}
    path.write_text(OLD_MITIGATION_TABLES.format(name="bcq"))
    with pytest.raises(WsdiagError, match=r"finetune\.algo = 'bcq'"):
        load_config(path)
    report = load_config(path, check_mitigation=False).mitigation  # a report: as written
    assert report.name == "bcq" and report.tables["bcq"] == {"phi": 0.05, "hidden": [400, 300]}
    assert report.tables["bc_penalty"] == bc_penalty.Params()
    path.write_text(
        OLD_MITIGATION_TABLES.format(name="bc_penalty").replace('"fixed"', '"confidence"')
    )
    with pytest.raises(WsdiagError, match="ccl_bc"):
        load_config(path)


# Every algorithm's keys, flat, as each agent section of an earlier version's config.toml wrote
# them (a td3 run's included): read into the selected algorithm's `params`, the rest of no effect.
OLD_AGENT_KEYS = """
bc_alpha = 2.5
bc_reduce = "mean"
normalize_obs = false
iql_expectile = 0.7
iql_beta = 3.0
iql_max_weight = 100.0
iql_policy = "squashed"
iql_atanh_eps = 1e-06
value_lr = 0.0003
cql_alpha = 10.0
cql_n_actions = 10
cql_temperature = 1.0
cql_backup_entropy = false
calql_bound_online = true
bcq_phi = 0.1
bcq_hidden = [256, 256]
bcq_input = "state"
bcq_init = "random"
"""


def test_run_configs_of_earlier_versions_load_their_algorithm_keys(tmp_path: Path) -> None:
    from wsdiag.config import OwnParams
    from wsdiag.config.algorithms import iql

    path = tmp_path / "config.toml"
    path.write_text(
        f'[pretrain]\nalgo = "iql"\nsource = "offline"\ndataset = "a/b-v0"\n{OLD_AGENT_KEYS}'
        f'[finetune]\nalgo = "sac"\n{OLD_AGENT_KEYS}'
    )
    for config in (load_config(path), load_config(path, check_mitigation=False)):
        assert config.pretrain.params == iql.Params(iql_policy="squashed")
        assert config.finetune.params == OwnParams()
    (tmp_path / "again.toml").write_text(dump_config(config))
    assert load_config(tmp_path / "again.toml") == config


@pytest.mark.parametrize("algo", ["td3", "ddpg", "sac", "bc", "td3bc", "iql", "cql", "calql"])
def test_an_algorithms_keys_are_read_once_into_its_params(algo: str, tmp_path: Path) -> None:
    """The keys stay flat in TOML; the section holds the algorithm's typed `Params`, written
    back beside every other algorithm's keys (at their defaults) and read back equal."""
    from wsdiag.config import ALGORITHMS, to_dict

    source = {"source": "offline", "dataset": "a/b-v0"} if algo != "td3" else {}
    fine = {"algo": "sac" if ALGORITHMS[algo].actor == "gaussian" else "td3"}  # its actor's kind
    config = from_dict({"pretrain": {"algo": algo, "value_lr": 1e-3, "cql_alpha": 5.0, **source},
                        "finetune": fine})  # fmt: skip
    params = config.pretrain.params
    assert type(params) is ALGORITHMS[algo].params
    assert getattr(params, "value_lr", 1e-3) == 1e-3 and getattr(params, "cql_alpha", 5.0) == 5.0
    saved = to_dict(config)["pretrain"]
    every = {f for spec in ALGORITHMS.values() for f in spec.params.__dataclass_fields__}
    assert every <= set(saved) and "params" not in saved
    (tmp_path / "c.toml").write_text(dump_config(config))
    assert load_config(tmp_path / "c.toml") == config


def test_replace_sets_an_algorithm_and_its_keys() -> None:
    from wsdiag.config import replace
    from wsdiag.config.algorithms import cql, iql

    config = replace(
        from_dict({"pretrain": {"algo": "sac"}, "finetune": {"algo": "sac"}}),
        finetune={"algo": "iql", "iql_beta": 2.0},
    )
    assert config.finetune.params == iql.Params(iql_beta=2.0)
    assert replace(config, finetune={"algo": "cql"}).finetune.params == cql.Params()
    with pytest.raises(WsdiagError, match=r"finetune\.iql_beta must be >= 0"):
        replace(config, finetune={"iql_beta": -1.0})


def test_a_mitigation_table_is_read_once_into_its_typed_params() -> None:
    from wsdiag.config.mitigations import ccl_pqd

    config = from_dict({"mitigation": {"name": "ccl_pqd", "ccl_pqd": {"alpha_start": 1e-3}}})
    assert config.mitigation.params == ccl_pqd.Params(alpha_start=1e-3)
    assert config.mitigation.tables == {"ccl_pqd": config.mitigation.params}
    assert from_dict({}).mitigation.params is None  # `none` has no table


def test_every_algorithm_key_is_in_the_config_reference() -> None:
    """docs/config.md lists each algorithm's own keys (tests/test_docs.py the common fields)."""
    from wsdiag.config import ALGORITHMS

    text = (Path(__file__).parents[2] / "docs" / "config.md").read_text()
    keys = {f for spec in ALGORITHMS.values() for f in spec.params.__dataclass_fields__}
    assert not [k for k in sorted(keys) if f"| `{k}` |" not in text]


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parents[2] / "examples" / "sweeps").glob("diagnosis_suite*.toml")),
    ids=lambda p: p.stem,
)
def test_the_diagnosis_suite_parts_plan_three_seeds_per_scenario(
    path: Path, tmp_path: Path
) -> None:
    from wsdiag.sweep.plan import build_plan
    from wsdiag.sweep.spec import load_sweep

    spec = load_sweep(path)
    plan = build_plan(spec, tmp_path)
    assert spec.name == path.stem  # the suite's folder is named as its file
    assert len(plan.runs) == 3 * len(spec.variants)
    assert {r.config.seed for r in plan.runs} == {0, 1, 2}


# ----------------------------------------------------------------------------- hostile values


def _float_fields(cls: type) -> list[str]:
    """Every float field of a config dataclass, nested sections included (dotted)."""
    import dataclasses
    import typing

    names = []
    for name, hint in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            names += [f"{name}.{inner}" for inner in _float_fields(hint)]
        elif hint is float or float in typing.get_args(hint):
            names.append(name)
    return names


def _own_float_fields() -> list[str]:
    """The float keys of every algorithm (flat in [finetune]) and of every mitigation table."""
    from wsdiag.config import ALGORITHMS, TABLES

    algorithms = {f for spec in ALGORITHMS.values() for f in _float_fields(spec.params)}
    tables = [f"mitigation.{n}.{f}" for n, t in TABLES.items() for f in _float_fields(t.params)]
    return [f"finetune.{f}" for f in sorted(algorithms)] + tables


FLOAT_FIELDS = _float_fields(Config) + _own_float_fields()


def _with(key: str, value: object) -> dict:
    """A raw config table with `key` (dotted) set to `value`."""
    from wsdiag.config import apply_values

    return apply_values({}, [(key, value)])


def test_float_fields_are_found() -> None:
    assert {"pretrain.target_return", "finetune.actor_lr", "probes.sigma"} <= set(FLOAT_FIELDS)
    assert {"finetune.iql_expectile", "mitigation.lr_scale.scale"} <= set(FLOAT_FIELDS)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=str)
@pytest.mark.parametrize("key", FLOAT_FIELDS)
def test_every_float_field_must_be_finite(key: str, value: float) -> None:
    with pytest.raises(WsdiagError, match=rf"^{key}: expected a finite number, got"):
        from_dict(_with(key, value))


def test_a_nan_or_inf_in_a_config_file_is_refused_when_it_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[finetune]\nactor_lr = inf\n[pretrain]\ntarget_return = nan\n")
    with pytest.raises(WsdiagError, match=r"finetune\.actor_lr: expected a finite number, got inf"):
        load_config(path)
    with pytest.raises(WsdiagError, match=r"pretrain\.target_return: expected a finite number"):
        load_config(path, ["finetune.actor_lr=3e-4"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"finetune": {"target_subset": 5}}, "finetune.target_subset (5) exceeds finetune.ensemble"
         " (2, td3's default)"),
        ({"pretrain": {"algo": "ddpg", "target_subset": 2}}, "pretrain.target_subset (2) exceeds "
         "pretrain.ensemble (1, ddpg's default)"),
        ({"seed": 2**64}, "seed: expected an integer of at most 64 bits, got one of 65 bits"),
        ({"seed": 2**32}, "seed must be in [0, 2147483647], got 4294967296"),
        ({"threads": 10**6}, "threads must be in [0, 1024]"),
        ({"finetune": {"steps": 2**70}}, "finetune.steps: expected an integer of at most 64 bits"),
        ({"finetune": {"buffer_size": 1e15}}, "finetune.buffer_size: expected an integer, got the "
         "float 1e+15 (write the digits"),
        ({"finetune": {"buffer_size": 10**15}}, "finetune.buffer_size = 1000000000000000: the "
         "replay buffer needs"),
        ({"pretrain": {"buffer_size": 10**15}}, "pretrain.buffer_size = 1000000000000000: the "
         "replay buffer needs"),
        ({"finetune": {"hidden": [60000, 60000]}}, "finetune.hidden = [60000, 60000]: the agent's "
         "networks"),
        ({"finetune": {"ensemble": 10**6, "hidden": [4096]}}, "finetune.hidden = [4096]: the "
         "agent's networks"),
        ({"finetune": {"batch_size": 10**10}}, "finetune.batch_size = 10000000000: one update's"),
        ({"pretrain": {"algo": "cql", "cql_n_actions": 10**9}, "finetune": {"algo": "cql"}},
         "pretrain.batch_size = 256: one update's"),
        ({"eval": {"episodes": 10**12}}, "eval.episodes must be in [1, 10000]"),
        ({"probes": {"states": 10**12}}, "probes.states: the behavioural probe set needs"),
        ({"probes": {"n_perturb": 10**11}}, "probes.states x probes.n_perturb"),
        ({"probes": {"drift_actions": 10**11}}, "probes.states x probes.drift_actions"),
        ({"probes": {"landscape_perturb": 10**12}}, "probes.landscape_states x "
         "probes.landscape_perturb"),
        ({"pretrain": {"target_return": 10**400}}, "pretrain.target_return: expected a finite "
         "number"),
    ],
)  # fmt: skip
def test_sizes_and_seeds_the_run_cannot_use_are_refused_when_the_config_loads(
    data: dict, message: str
) -> None:
    with pytest.raises(WsdiagError) as info:
        from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_memory_messages_name_the_machine_limit() -> None:
    with pytest.raises(
        WsdiagError, match=r"needs .* PiB, more than the .* allowed on this machine"
    ):
        from_dict({"finetune": {"buffer_size": 10**15}})


def test_the_bounds_themselves_load() -> None:
    from wsdiag.config import MAX_EVAL_EPISODES, MAX_SEED, MAX_THREADS

    config = from_dict({"seed": MAX_SEED, "threads": MAX_THREADS,
                        "eval": {"episodes": MAX_EVAL_EPISODES}})  # fmt: skip
    assert config.seed == 2**31 - 1


def test_the_largest_seed_and_its_offsets_seed_numpy_and_torch() -> None:
    import numpy as np
    import torch

    from wsdiag.config import MAX_SEED
    from wsdiag.training.warm_start import PROBE_SEED_OFFSET

    largest = MAX_SEED + PROBE_SEED_OFFSET + 1  # the probes' second generator
    torch.manual_seed(largest)
    torch.Generator().manual_seed(largest)
    np.random.default_rng(largest)
    assert largest < 2**32


def test_memory_is_estimated_with_the_environments_dimensions() -> None:
    from wsdiag.config import check_memory

    config = from_dict({"pretrain": {"buffer_size": 1000}, "finetune": {"buffer_size": 10**7}})
    with pytest.raises(WsdiagError, match=r"finetune\.buffer_size = 10000000: the replay buffer"):
        check_memory(config, obs_dim=10**5, act_dim=1)


def test_env_kwargs_that_fail_on_the_first_step_are_refused_before_a_run_starts(
    runs: Path,
) -> None:
    from tests.conftest import tiny_config
    from wsdiag.envs import make_env
    from wsdiag.training.experiment import Experiment

    with pytest.raises(WsdiagError, match=r"^'Pendulum-v1' with env.kwargs \{'g': 'x'\} fails"):
        make_env("Pendulum-v1", kwargs={"g": "x"})
    with pytest.raises(WsdiagError, match=r"env\.kwargs"):
        Experiment.create(tiny_config(env={"kwargs": {"g": "x"}}), runs, progress="none")
    assert not runs.exists() or not list(runs.iterdir())  # no run directory left


@pytest.mark.parametrize(
    "text",
    ["a = " + "[" * 100_000, "a = " + "{b = " * 100_000, "a = " + "[" * 40 + "1" + "]" * 40,
     "a = " + "1" * 5000],
    ids=["arrays", "inline-tables", "deep-but-parsed", "huge-integer"],
)  # fmt: skip
def test_hostile_toml_is_one_line_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(WsdiagError, match="invalid TOML") as info:
        load_config(path)
    assert "\n" not in str(info.value)
    (tmp_path / "good.toml").write_text('name = "x"\n')
    with pytest.raises(WsdiagError, match=r"^--set env\.kwargs\.a: invalid TOML"):
        load_config(tmp_path / "good.toml", [f"env.kwargs.{text}"])


def test_a_config_file_too_large_to_be_one_is_refused_unparsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("a" + ".a" * 700_000 + " = 1\n")  # slow to parse: refused by its size
    with pytest.raises(WsdiagError, match="not a config"):
        load_config(path)


def test_config_check_makes_the_environment_with_its_kwargs() -> None:
    from typer.testing import CliRunner

    from tests.conftest import DEMO_CONFIG, one_line_error
    from wsdiag.cli.main import app

    result = CliRunner().invoke(app, ["config", "check", DEMO_CONFIG, "--set", 'env.kwargs.g="x"'])
    one_line_error(result, 2, "fails on its first reset or step")


@pytest.mark.parametrize(
    "algo", ["td3", "ddpg", "sac", "bc", "td3bc", "iql", "cql", "calql", "bcq"]
)
def test_the_registrys_actor_kind_is_the_agents(algo: str) -> None:
    """The config check refuses a warm start between actors of different kinds by the
    registry's `actor`: it must name the kind the agent builds."""
    from wsdiag.agents import make_agent
    from wsdiag.agents.networks import DeterministicActor, GaussianActor
    from wsdiag.config.algorithms import ALGORITHMS, DETERMINISTIC, GAUSSIAN
    from wsdiag.config.schema import AgentConfig

    actor = make_agent(AgentConfig(algo=algo, hidden=(8, 8)), 3, 1).actor
    kind = {DeterministicActor: DETERMINISTIC, GaussianActor: GAUSSIAN}.get(type(actor))
    assert (kind or "perturbation") == ALGORITHMS[algo].actor


BENCHMARK = Path(__file__).parents[2] / "examples" / "benchmark"
BENCHMARK_PARTS = [
    *(f"{p}.toml" for p in ("idp", "bc_td3", "cql_sac", "ip_sac")),
    *(f"dev2/{p}.toml" for p in ("pendulum_td3", "ip_sac", "pendulum_offline")),
    *(f"test2/{p}.toml" for p in ("reacher_td3", "reacher_sac", "calql_sac")),
]


@pytest.mark.parametrize("part", BENCHMARK_PARTS)
def test_the_benchmark_sweeps_pass_the_config_checks(part: str, tmp_path: Path) -> None:
    from wsdiag.sweep.plan import build_plan
    from wsdiag.sweep.spec import load_sweep

    plan = build_plan(load_sweep(BENCHMARK / part), tmp_path)
    assert len(plan.runs) == 3 * len(plan.spec.variants)


def test_the_second_split_holds_out_exactly_the_second_test_parts() -> None:
    """Every scenario of an earlier round is dev; the test2 files' scenarios are the test."""
    from wsdiag.suite.split import load_split
    from wsdiag.sweep.spec import load_sweep

    def scenarios(files: list[str]) -> set[str]:
        specs = [load_sweep(BENCHMARK / f) for f in files]
        return {f"{s.name}/{v.name}" for s in specs for v in s.variants}

    split = load_split(BENCHMARK / "split2.toml")
    first = load_split(BENCHMARK / "split.toml")
    earlier = [p for p in BENCHMARK_PARTS if not p.startswith("test2/")]
    test2 = [p for p in BENCHMARK_PARTS if p.startswith("test2/")]
    assert set(split.scenarios("test")) == scenarios(test2)
    dev = set(split.scenarios("dev"))
    assert scenarios(earlier) | set(first.scenarios("dev")) == dev
