"""The Q-percentile of a run's behavioural actions in its three forms (truncate, unclipped, clip),
for the pretrained critic and for the fresh critic at the end of the warm-up (docs/probes.md).

    python -m examples.q_percentile_bounds runs/demo-pendulum-td3-seed0 [RUN_DIR ...]

Each run needs its behavioural probe set (probes/probe_set.npz), its frozen copy from the step
policy updates began (probes/frozen_agent.pt) and its pretrained checkpoint. Prints one row per
run and critic, then the mean over the runs, and the fraction of behavioural action coordinates
at the bounds (|a| > 0.99), where the forms differ.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from wsdiag.agents.checkpoint import load_checkpoint
from wsdiag.config import load_config
from wsdiag.data.probe_set import ProbeSet
from wsdiag.probes.common import critic_fn
from wsdiag.probes.q_percentile import BOUNDS, q_percentile
from wsdiag.rundir import CHECKPOINTS_DIR, CONFIG_FILE, FROZEN_FILE, PROBE_SET_FILE, PROBES_DIR
from wsdiag.training.probe_runner import load_frozen
from wsdiag.training.warm_start import PROBE_SEED_OFFSET  # the run's draws, exactly


def percentiles(run_dir: Path) -> tuple[dict[str, dict[str, float]], float]:
    """{critic: {form: mean P}} for the pretrained and the fresh critic, and the bound fraction."""
    config = load_config(run_dir / CONFIG_FILE)
    source = config.pretrain.path if config.pretrain.source == "checkpoint" else None
    ckpt = load_checkpoint(source or run_dir / CHECKPOINTS_DIR / "pretrained")
    behaviour = ProbeSet.load(run_dir / PROBES_DIR / PROBE_SET_FILE)
    obs_dim, act_dim = behaviour.states.shape[1], behaviour.actions.shape[1]
    pretrained = ckpt.make_agent(obs_dim, act_dim)
    like = load_checkpoint(run_dir / CHECKPOINTS_DIR / "latest").make_agent(obs_dim, act_dim)
    fresh = load_frozen(like, run_dir / PROBES_DIR / FROZEN_FILE, step=10**12)
    states = torch.as_tensor(behaviour.states, dtype=torch.float32)
    actions = torch.as_tensor(behaviour.actions, dtype=torch.float32)
    probes = config.probes
    table = {}
    for name, agent in (("pretrained", pretrained), ("fresh, end of warm-up", fresh)):
        q_fn = critic_fn(agent, probes.reduce)
        table[name] = {
            bounds: float(
                q_percentile(
                    q_fn,
                    states,
                    actions,
                    n_perturb=probes.n_perturb,
                    sigma=probes.sigma,
                    bounds=bounds,
                    generator=torch.Generator().manual_seed(config.seed + PROBE_SEED_OFFSET),
                ).mean()
            )
            for bounds in BOUNDS
        }
    return table, float((actions.abs() > 0.99).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {}
    print(f"{'run':<40} {'critic':<24} " + " ".join(f"{b:>10}" for b in BOUNDS))
    for run in args.runs:
        table, at_bounds = percentiles(run)
        for critic, values in table.items():
            rows.setdefault(critic, []).append(values)
            cells = " ".join(f"{values[b]:>10.3f}" for b in BOUNDS)
            print(f"{run.name:<40} {critic:<24} {cells}")
        print(f"{run.name:<40} {'coordinates at a bound':<24} {at_bounds:>10.1%}")
    for critic, values in rows.items():
        cells = " ".join(f"{np.mean([v[b] for v in values]):>10.3f}" for b in BOUNDS)
        print(f"{f'mean of {len(values)} runs':<40} {critic:<24} {cells}")


if __name__ == "__main__":
    main()
