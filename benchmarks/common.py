"""Shared helpers: thread settings, timing, machine description, synthetic replay data."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from wsdiag.data.buffer import ReplayBuffer

ENV_IDS = ("Pendulum-v1", "HalfCheetah-v5")
ENV_DIMS = {"Pendulum-v1": (3, 1), "HalfCheetah-v5": (17, 6)}  # (obs dim, action dim)
HIDDEN = (256, 256)
BATCH = 256
LR = 3e-4


def set_threads(n: int) -> None:
    """Pin torch's intra-op thread pool to `n` threads."""
    torch.set_num_threads(n)


def per_call_seconds(
    fn: Callable[[], object], iters: int, repeats: int = 3, warmup: int = 10
) -> float:
    """Best (lowest) over `repeats` of the mean wall time of `iters` calls of `fn`.

    `warmup` untimed calls come first. The minimum is the least disturbed by other work on a
    shared machine.
    """
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - start) / iters)
    return min(samples)


def random_buffer(obs_dim: int, act_dim: int, size: int = 10_000, seed: int = 0) -> ReplayBuffer:
    """A wsdiag replay buffer filled with `size` Gaussian transitions (timing only)."""
    rng = np.random.default_rng(seed)
    buffer = ReplayBuffer(size, obs_dim, act_dim, seed)
    buffer.add_many(
        {
            "obs": rng.standard_normal((size, obs_dim), dtype=np.float32),
            "actions": rng.uniform(-1.0, 1.0, (size, act_dim)).astype(np.float32),
            "rewards": rng.standard_normal(size, dtype=np.float32),
            "next_obs": rng.standard_normal((size, obs_dim), dtype=np.float32),
            "terminated": np.zeros(size, np.float32),
            "truncated": np.zeros(size, np.float32),
            "source": np.zeros(size, np.int8),
        }
    )
    return buffer


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (a hint of how busy a shared machine was)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cuda": torch.cuda.is_available(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "stable_baselines3": _version("stable-baselines3"),
        "gymnasium": _version("gymnasium"),
        "mujoco": _version("mujoco"),
        "wsdiag": _version("wsdiag"),
        "load_average_start": load_average(),
    }


def training_loop(
    algo: str,
    env_id: str,
    random_steps: int,
    total: int,
    buffer_size: int,
    seed: int,
    run_dir: str,
    callbacks: tuple = (),
):
    """wsdiag's real `Loop`: `random_steps` uniform-random steps, then one update per step."""
    from pathlib import Path

    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig
    from wsdiag.core import Actor, Phase
    from wsdiag.envs import make_env, space_dims
    from wsdiag.training.loop import Loop
    from wsdiag.training.recorder import Recorder

    random_phase = Phase("pretrain", 0, random_steps, Actor.RANDOM, False, update_actor=False)
    learning = {"actor": Actor.AGENT, "update_critic": True, "update_actor": True}
    torch.manual_seed(seed)
    env = make_env(env_id)
    obs_dim, act_dim = space_dims(env)
    cfg = AgentConfig(algo=algo, hidden=HIDDEN, batch_size=BATCH, actor_lr=LR, critic_lr=LR)
    return Loop(
        stage="pretrain",
        env=env,
        agent=make_agent(cfg, obs_dim, act_dim),
        buffer=ReplayBuffer(buffer_size, obs_dim, act_dim, seed),
        recorder=Recorder(Path(run_dir)),
        phases=[random_phase, Phase("pretrain", random_steps, total, **learning)],
        utd=1,
        batch_size=BATCH,
        seed=seed,
        callbacks=list(callbacks),
    )


ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A temporary git worktree of `rev` holding this checkout's benchmark code (so that both
    sides of a comparison are timed by the same code); removed on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "then"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), rev],
            check=True,
            capture_output=True,
        )
        try:
            (other / "benchmarks").mkdir(exist_ok=True)
            for path in (ROOT / "benchmarks").glob("*.py"):
                (other / "benchmarks" / path.name).write_text(path.read_text())
            yield other
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                check=False,
                capture_output=True,
            )


def in_process(root: Path, code: str, env: dict[str, str] | None = None) -> dict:
    """The JSON that `code` prints last, run in a fresh Python process that imports wsdiag and
    the benchmarks from `root`, with `env` added to its environment."""
    env = os.environ | (env or {}) | {"PYTHONPATH": str(root)}
    code = f"import wsdiag; {code}; print(json.dumps({{'wsdiag': wsdiag.__file__}}))"
    done = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    where = Path(json.loads(lines[-1])["wsdiag"]).resolve()
    assert where.is_relative_to(root.resolve()), f"wsdiag imported from {where}, not {root}"
    return json.loads(lines[-2])
