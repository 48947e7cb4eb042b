"""Shared fixtures: tiny configs that run the whole protocol in about a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from wsdiag.config import Config, from_dict
from wsdiag.data.buffer import Batch

TINY_AGENT = {"hidden": [32, 32], "batch_size": 32, "buffer_size": 5000}


def tiny_config(**sections: Any) -> Config:
    """A Pendulum-v1 warm-start experiment with tiny networks and budgets; override by section."""
    data: dict[str, Any] = {
        "name": "tiny",
        "seed": 3,
        "threads": 1,
        "env": {"id": "Pendulum-v1"},
        "pretrain": {**TINY_AGENT, "steps": 400, "learning_starts": 100},
        "warmstart": {"load": ["actor"], "warmup_steps": 100, "freeze_policy_steps": 50},
        "finetune": {**TINY_AGENT, "steps": 400},
        "eval": {"every": 200, "episodes": 1},
        "checkpoint": {"every": 200, "keep": 2},
        "log": {"train_every": 100},
    }
    for name, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(name, {}).update(value)
        else:
            data[name] = value
    return from_dict(data)


@pytest.fixture
def tiny() -> Config:
    return tiny_config()


@pytest.fixture(autouse=True)
def _torch_threads() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture(scope="session", autouse=True)
def _minari_root(tmp_path_factory: pytest.TempPathFactory):
    """Every test sees an empty temporary Minari root, never the user's."""
    import os

    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(tmp_path_factory.mktemp("minari"))
    yield
    if old is None:
        del os.environ["MINARI_DATASETS_PATH"]
    else:
        os.environ["MINARI_DATASETS_PATH"] = old


@pytest.fixture(scope="session")
def pendulum_datasets() -> dict[str, str]:
    """Three small Pendulum-v1 datasets: 'expert' (labelled so), 'random', and expert-random-30."""
    from wsdiag.data.build import collect_dataset, mix_dataset

    ids = {
        "expert": "test/pendulum/expert-v0",
        "random": "test/pendulum/random-v0",
        "mixed": "test/pendulum/expert-random-30-v0",
    }
    collect_dataset(ids["expert"], policy="random", env_id="Pendulum-v1", steps=1000, seed=1,
                    label="expert", ref_max=-150.0, ref_episodes=2)  # fmt: skip
    collect_dataset(ids["random"], policy="random", env_id="Pendulum-v1", steps=600, seed=2,
                    ref_episodes=2)  # fmt: skip
    mix_dataset(ids["expert"], ids["random"], 30, ids["mixed"])
    return ids


def random_batch(
    n: int = 8, obs_dim: int = 3, act_dim: int = 2, seed: int = 0, tag: int = 0, **fields
) -> Batch:
    """Gaussian states and rewards, uniform actions, origin `tag`; `fields` replace any field."""
    g = torch.Generator().manual_seed(seed)
    base = {
        "obs": torch.randn(n, obs_dim, generator=g),
        "actions": torch.rand(n, act_dim, generator=g) * 2 - 1,
        "rewards": torch.randn(n, generator=g),
        "next_obs": torch.randn(n, obs_dim, generator=g),
        "terminated": torch.zeros(n),
        "truncated": torch.zeros(n),
        "origin": torch.full((n,), tag, dtype=torch.int8),
        "mc_return": torch.randn(n, generator=g),
    }
    return Batch(**(base | fields))


# Tiny budgets for CLI runs of the demo config (a few seconds each).
TINY_ARGS = [
    "--set", "pretrain.steps=300", "--set", "pretrain.learning_starts=100",
    "--set", "pretrain.hidden=[16,16]", "--set", "finetune.hidden=[16,16]",
    "--set", "finetune.steps=300", "--set", "warmstart.warmup_steps=100",
    "--set", "eval.every=150", "--set", "eval.episodes=1", "--set", "threads=1",
]  # fmt: skip
DEMO_CONFIG = str(Path(__file__).parent.parent / "wsdiag" / "configs" / "demo.toml")


def train_tiny(out: Path, args: list[str]) -> Path:
    """A finished demo run made by `wsdiag train` with tiny settings `args`, in `out`."""
    from typer.testing import CliRunner

    from wsdiag.cli.main import app

    result = CliRunner().invoke(app, ["train", DEMO_CONFIG, "--out", str(out), "-q", *args])
    assert result.exit_code == 0, result.output
    (run_dir,) = out.iterdir()
    return run_dir


def one_line_error(result: Any, code: int, text: str) -> None:
    """A CLI result that failed with `code` and one `error:` line containing `text` on stderr
    (besides the `run directory:` line of a run that had started), no traceback."""
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("run directory:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and text in lines[0], lines[0]
    assert "Traceback" not in result.output


def trained_sb3(
    sb3: Any, algo: str, folder: Path, steps: int = 300, name: str = "", **kwargs: Any
) -> Path:
    """A tiny SB3 model trained on Pendulum-v1 (steps - 100 gradient steps; 0: untrained),
    saved as `<name or algo>.zip`."""
    torch.manual_seed(0)
    model = getattr(sb3, algo)("MlpPolicy", "Pendulum-v1", learning_starts=100, batch_size=32,
                               seed=0, device="cpu", **kwargs)  # fmt: skip
    if steps:  # SB3's default logger makes a folder in the system's temporary directory
        model.set_logger(sb3.common.logger.configure(str(folder / "sb3-log"), []))
        model.learn(steps)
    path = folder / f"{name or algo.lower()}.zip"
    model.save(path)
    return path
