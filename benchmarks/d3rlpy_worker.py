"""d3rlpy's side of `benchmarks.d3rlpy_side`: ms per `algo.update(batch)` of d3rlpy 2.8.1.

Run by the interpreter of the separate environment that holds d3rlpy (`make bench-d3rlpy`),
never imported there: it needs only the standard library, numpy, torch and d3rlpy, and imports
the last three inside its functions, so that wsdiag's environment can read `CONFIGS`. Prints
one JSON line last: `{algo}_ms` (the mean over `--iters` updates after 10 untimed ones) and
`{algo}_batch_ms` (the part of an update that turns the numpy mini-batch into tensors, timed
alone) for each algorithm, and the versions.

Each algorithm is built with `create_impl((17,), 6)` (HalfCheetah shapes) and updated on one
fixed random mini-batch of 256 transitions. `CONFIGS` holds what is set away from d3rlpy's
defaults to match wsdiag's (docs/performance.md lists what cannot be matched).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Any

OBS_DIM, ACT_DIM, BATCH, HIDDEN = 17, 6, 256, (256, 256)
WARMUP = 10  # untimed updates first, as wsdiag's side
RETURN_LENGTH = 500  # rewards after each transition (Cal-QL's return-to-go): mid-episode of 1,000
SHARED = {"batch_size": BATCH, "gamma": 0.99, "tau": 0.005, "n_critics": 2}
# What each algorithm sets away from d3rlpy's defaults to match wsdiag's (the learning rates,
# 3e-4 everywhere in wsdiag, are written out even where d3rlpy's default agrees).
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "td3": ("TD3Config", {"actor_learning_rate": 3e-4, "critic_learning_rate": 3e-4}),
    "sac": ("SACConfig", {"actor_learning_rate": 3e-4, "critic_learning_rate": 3e-4,
                          "temp_learning_rate": 3e-4, "initial_temperature": 1.0}),
    "td3bc": ("TD3PlusBCConfig", {"actor_learning_rate": 3e-4, "critic_learning_rate": 3e-4,
                                  "alpha": 2.5}),
    "iql": ("IQLConfig", {"actor_learning_rate": 3e-4, "critic_learning_rate": 3e-4,
                          "expectile": 0.7, "weight_temp": 3.0, "max_weight": 100.0}),
    # CQL(H) with a fixed weight 10 (wsdiag's cql_alpha): no Lagrange alpha (alpha learning
    # rate 0, initial alpha 1, so the threshold only shifts the loss), 10 actions of each kind,
    # no entropy in the target (d3rlpy's deterministic backup), SAC's learning rates 3e-4.
    "cql": ("CQLConfig", {"actor_learning_rate": 3e-4, "critic_learning_rate": 3e-4,
                          "temp_learning_rate": 3e-4, "initial_temperature": 1.0,
                          "alpha_learning_rate": 0.0, "initial_alpha": 1.0,
                          "conservative_weight": 10.0, "n_action_samples": 10,
                          "soft_q_backup": False, "max_q_backup": False}),
}  # fmt: skip
CONFIGS["calql"] = ("CalQLConfig", CONFIGS["cql"][1])
ALGOS = tuple(CONFIGS)


def build(algo: str, seed: int = 0) -> Any:
    """d3rlpy's algorithm `algo` with its implementation created at HalfCheetah shapes."""
    import d3rlpy
    from d3rlpy.models.encoders import VectorEncoderFactory

    d3rlpy.seed(seed)
    name, settings = CONFIGS[algo]
    encoders = {
        f"{part}_encoder_factory": VectorEncoderFactory(hidden_units=list(HIDDEN))
        for part in ("actor", "critic") + (("value",) if algo == "iql" else ())
    }
    config = getattr(d3rlpy.algos, name)(**SHARED, **settings, **encoders)
    agent = config.create(device="cpu:0")
    agent.create_impl((OBS_DIM,), ACT_DIM)
    return agent


def random_batch(seed: int = 0) -> Any:
    """A mini-batch of 256 Gaussian transitions (uniform actions), none terminal."""
    import numpy as np
    from d3rlpy.dataset import Transition, TransitionMiniBatch

    rng = np.random.default_rng(seed)

    def normal(*shape: int) -> Any:
        return rng.standard_normal(shape, dtype=np.float32)

    def uniform() -> Any:
        return rng.uniform(-1.0, 1.0, ACT_DIM).astype(np.float32)

    def transition() -> Transition:
        return Transition(
            observation=normal(OBS_DIM),
            action=uniform(),
            reward=normal(1),
            next_observation=normal(OBS_DIM),
            next_action=uniform(),
            terminal=0.0,
            interval=1,
            rewards_to_go=normal(RETURN_LENGTH, 1),
        )

    transitions = [transition() for _ in range(BATCH)]
    return TransitionMiniBatch.from_transitions(transitions)


def mean_ms(fn: Any, iters: int, warmup: int = WARMUP) -> float:
    """Mean wall ms of `iters` calls of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters * 1e3


def measure(algo: str, iters: int) -> dict[str, float]:
    """ms per `update(batch)` of `algo`, and ms of the tensor conversion that it includes."""
    from d3rlpy.torch_utility import TorchMiniBatch

    agent = build(algo)
    batch = random_batch()

    def convert() -> None:
        TorchMiniBatch.from_batch(batch, SHARED["gamma"], agent.need_returns_to_go, "cpu:0")

    return {
        f"{algo}_ms": mean_ms(lambda: agent.update(batch), iters),
        f"{algo}_batch_ms": mean_ms(convert, iters),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=30, help="timed updates per algorithm")
    args = p.parse_args(argv)
    import d3rlpy
    import torch

    torch.set_num_threads(args.threads)
    out: dict[str, Any] = {}
    for algo in args.algos:
        out |= measure(algo, args.iters)
    out["versions"] = {"d3rlpy": d3rlpy.__version__, "torch": torch.__version__,
                       "python": platform.python_version()}  # fmt: skip
    sys.stdout.write("\n" + json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
