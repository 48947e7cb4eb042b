"""How exactly an imported Stable-Baselines3 model reproduces SB3 (`pretrain.source = "sb3"`).

Trains SB3's TD3 and SAC with their default networks on Pendulum-v1 for `--steps` steps, saves
each zip, imports it with wsdiag, and prints the largest absolute differences over `--states`
observations drawn uniformly from the observation box:
- action: SB3's `predict(s, deterministic=True)` vs the env action of wsdiag's pi(s) (wsdiag's
  [-1, 1] action rescaled by `make_env`'s wrapper), in the env's units;
- Q: every SB3 critic vs wsdiag's ensemble member, at the policy's action, and that error
  relative to max |Q| (float32 sums taken in another order differ by about 1e-7 of |Q|).

    python -m examples.sb3_import_error --steps 2000   (needs pip install -e ".[sb3]")
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from wsdiag.agents.sb3 import import_sb3
from wsdiag.config import PretrainConfig
from wsdiag.envs import make_env


def errors(algo: str, steps: int, states: int, folder: Path) -> tuple[float, float, float]:
    """(max |action error|, max |Q error|, max |Q|) of the imported `algo` model."""
    import stable_baselines3 as sb3

    torch.manual_seed(0)
    model = getattr(sb3, algo)("MlpPolicy", "Pendulum-v1", seed=0, device="cpu")
    model.learn(steps)
    path = folder / f"{algo}.zip"
    model.save(path)
    env = make_env("Pendulum-v1")
    ckpt = import_sb3(path, PretrainConfig(), env)
    agent = ckpt.make_agent(ckpt.meta["obs_dim"], ckpt.meta["act_dim"])
    box = env.observation_space
    obs = np.random.default_rng(1).uniform(box.low, box.high, (states, box.shape[0]))
    obs = obs.astype(np.float32)
    expected, _ = model.predict(obs, deterministic=True)
    ours = np.stack([env.action(a) for a in agent.act(obs, explore=False)])
    o = torch.as_tensor(obs)
    with torch.no_grad():
        a = agent.policy(o)
        q_sb3 = torch.cat(model.critic(o, a), dim=1).T
        q_error = float((agent.q_values(o, a) - q_sb3).abs().max())
    return float(np.abs(ours - expected).max()), q_error, float(q_sb3.abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="SB3 training steps per model")
    parser.add_argument("--states", type=int, default=10_000, help="observations compared")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for algo in ("TD3", "SAC"):
            action, q, q_max = errors(algo, args.steps, args.states, Path(tmp))
            print(f"{algo}: max |action error| {action:.2e}, max |Q error| {q:.2e} "
                  f"({q / q_max:.1e} of max |Q| = {q_max:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
