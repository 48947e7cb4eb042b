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


EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("**/*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_configs_load(path: Path) -> None:
    assert isinstance(load_config(path), Config)


def test_compare_mitigations_variants_are_valid_configs() -> None:
    from examples.compare_mitigations import CONFIG, PRETRAININGS, VARIANTS

    root = Path(__file__).parent.parent
    for kind, sets in PRETRAININGS.items():
        assert load_config(root / CONFIG, [*sets, f'name="{kind}"']).name == kind
    for name, (kind, sets) in VARIANTS.items():
        assert kind in PRETRAININGS
        config = load_config(root / CONFIG, [*sets, f'name="{name}"'])
        assert config.name == name
        pretrain = load_config(root / CONFIG, PRETRAININGS[kind]).pretrain
        fit = ["hidden", "layer_norm"] + ["ensemble"] * ("critic" in config.warmstart.load)
        for field in fit:  # the warm start must find the same architecture
            assert getattr(config.finetune, field) == getattr(pretrain, field), (name, field)
