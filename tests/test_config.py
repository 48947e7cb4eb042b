"""Config: defaults, TOML round trip, overrides, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsdiag.config import Config, dump_config, from_dict, load_config
from wsdiag.errors import WsdiagError

CONFIGS = sorted((Path(__file__).parent.parent / "wsdiag" / "configs").glob("*.toml"))


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
    for p in (Path(__file__).parent.parent / "examples").glob("**/*.toml")
    if "sweeps" not in p.parts
)  # sweep files are checked by test_example_sweeps_plan_and_fit_their_pretrainings


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_configs_load(path: Path) -> None:
    assert isinstance(load_config(path), Config)


@pytest.mark.parametrize("name", ["mitigations", "wsrl"])
def test_example_sweeps_plan_and_fit_their_pretrainings(name: str, tmp_path: Path) -> None:
    from wsdiag.sweep.plan import build_plan
    from wsdiag.sweep.spec import load_sweep

    root = Path(__file__).parent.parent
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
    import wsdiag.mitigations  # noqa: F401  (installs the mitigation checks, as every command does)
    from wsdiag.config import apply_overrides

    text = f"{key}={value!r}".replace("'", '"').replace("True", "true")
    with pytest.raises(WsdiagError) as info:
        from_dict(apply_overrides({}, [text]))
    assert key.split(".")[-1] in str(info.value), str(info.value)


def test_algorithm_defaults_are_resolved_into_the_saved_config() -> None:
    config = from_dict({"finetune": {"algo": "sac", "ensemble": 10}, "pretrain": {"algo": "ddpg"}})
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
    import wsdiag.mitigations  # noqa: F401  (installs the mitigation checks)

    path = tmp_path / "config.toml"
    path.write_text(OLD_MITIGATION_TABLES.format(name="none"))
    config = load_config(path)  # a resume: checked, what no longer exists dropped
    assert "bcq" not in config.mitigation.tables
    assert "controller" not in config.mitigation.tables["bc_penalty"]
    path.write_text(OLD_MITIGATION_TABLES.format(name="bcq"))
    with pytest.raises(WsdiagError, match=r"finetune\.algo = 'bcq'"):
        load_config(path)
    assert load_config(path, check_mitigation=False).mitigation.name == "bcq"  # a report
    path.write_text(
        OLD_MITIGATION_TABLES.format(name="bc_penalty").replace('"fixed"', '"confidence"')
    )
    with pytest.raises(WsdiagError, match="ccl_bc"):
        load_config(path)


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parent.parent / "examples" / "sweeps").glob("diagnosis_suite*.toml")),
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
