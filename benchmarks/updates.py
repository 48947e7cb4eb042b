"""Time per agent update on HalfCheetah shapes (obs 17, action 6, batch 256, [256, 256]), and the
paths of the critic ensemble's one-output head.

`run` times `agent.update` on pre-sampled batches for each algorithm at the given thread count
(the best of `repeats` means over `iters` updates, after a warm-up). `head` times the 256 -> 1
output layer of a two-critic ensemble, forward and backward, at CQL's 7,936 rows per critic
(256 states x (3 x 10 sampled actions + the dataset action)): the batched matmul the other layers
use against the one matrix-vector product per member that `EnsembleLinear` now runs.

`python -m benchmarks.updates --against REV` compares this checkout with a git revision side by
side: each repeat runs one process per checkout (the same seed and batches), alternating which
goes first, and prints every sample; `--env VAR=VALUE` compares this checkout with and without
environment variables the same way.
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from benchmarks.common import (
    BATCH,
    ENV_DIMS,
    HIDDEN,
    ROOT,
    checkout,
    in_process,
    load_average,
    per_call_seconds,
    random_buffer,
    set_threads,
)

ALGOS = ("td3", "sac", "td3bc", "iql", "cql", "calql")
CQL_ROWS = BATCH * (3 * 10 + 1)  # critic rows per member in one CQL update


def update_ms(algo: str, iters: int, repeats: int = 3, seed: int = 0) -> float:
    """Best mean ms of `agent.update` over `iters` pre-sampled HalfCheetah-shaped batches."""
    from wsdiag.agents import make_agent
    from wsdiag.config import AgentConfig

    obs_dim, act_dim = ENV_DIMS["HalfCheetah-v5"]
    torch.manual_seed(seed)
    agent = make_agent(AgentConfig(algo=algo, hidden=HIDDEN, batch_size=BATCH), obs_dim, act_dim)
    buffer = random_buffer(obs_dim, act_dim, seed=seed)
    batches = [buffer.sample(BATCH) for _ in range(iters)]
    it = iter(range(1 << 62))

    def step() -> None:
        agent.update(batches[next(it) % iters])

    return per_call_seconds(step, iters, repeats=repeats, warmup=10) * 1e3


def run(
    threads: int = 1, iters: int = 50, repeats: int = 3, algos: tuple[str, ...] = ALGOS
) -> dict[str, float]:
    """ms per update of each algorithm at `threads` torch threads."""
    set_threads(threads)
    return {f"{algo}_ms": update_ms(algo, iters, repeats) for algo in algos}


def head(threads: int = 1, iters: int = 50, ensemble: int = 2) -> dict[str, float]:
    """ms of the 256 -> 1 head, forward and backward (input, weight and bias gradients), at CQL's
    rows: the batched matmul (`torch.baddbmm`) against one `torch.addmm` per member."""
    set_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(ensemble, CQL_ROWS, HIDDEN[-1], requires_grad=True)
    w = torch.randn(ensemble, HIDDEN[-1], 1, requires_grad=True)
    b = torch.randn(ensemble, 1, 1, requires_grad=True)
    grad_out = torch.randn(ensemble, CQL_ROWS, 1)

    def batched() -> torch.Tensor:
        return torch.baddbmm(b, x, w)

    def per_member() -> torch.Tensor:
        pieces = zip(x.unbind(0), w.unbind(0), b.unbind(0), strict=True)
        return torch.stack([torch.addmm(b_e, x_e, w_e) for x_e, w_e, b_e in pieces])

    out = {}
    for name, fn in (("batched", batched), ("per_member", per_member)):
        with torch.no_grad():
            out[f"head_{name}_forward_ms"] = per_call_seconds(fn, iters) * 1e3

        def both(fn=fn) -> None:
            torch.autograd.grad(fn(), (x, w, b), grad_out)

        out[f"head_{name}_forward_backward_ms"] = per_call_seconds(both, iters) * 1e3
    return out


def sample(
    root: Path,
    algos: tuple[str, ...],
    threads: int,
    iters: int,
    env: dict[str, str] | None,
    setup: str = "",
) -> dict:
    """One process's ms per update of each algorithm (after the statements `setup`, if any)."""
    run_once = f"run({threads}, {iters}, 1, {algos!r})"
    code = f"from benchmarks.updates import run; print(json.dumps({run_once}))"
    return in_process(root, f"{setup}; {code}" if setup else code, env)


def order(names: Sequence[str], repeat: int) -> list[str]:
    """The sides in the order they run at `repeat`: as given, then reversed, and so on."""
    return list(names) if repeat % 2 == 0 else list(names)[::-1]


def alternate(sides: dict[str, Callable[[], dict]], repeats: int) -> dict[str, object]:
    """Every sample of each side (a call that returns one sample), the sides alternating which
    goes first (`order`); the load average before the first repeat and after each."""
    samples: dict[str, list[dict]] = {name: [] for name in sides}
    loads = [load_average()]
    for r in range(repeats):
        for name in order(list(sides), r):
            samples[name].append(sides[name]())
        loads.append(load_average())
    return {"samples": samples, "load_average": loads}


def alternating(
    sides: dict[str, tuple[Path, dict[str, str] | None]],
    algos: tuple[str, ...],
    threads: int,
    iters: int,
    repeats: int,
) -> dict[str, object]:
    """Every sample of each side (a checkout and environment variables), one process per
    sample, the sides alternating which goes first; the load average after each repeat."""
    calls = {
        name: functools.partial(sample, root, algos, threads, iters, env)
        for name, (root, env) in sides.items()
    }
    return {"threads": threads} | alternate(calls, repeats)


def ratios(base: Sequence[float], other: Sequence[float]) -> dict[str, object]:
    """other / base of paired samples (ms): at the best of each, its range over all pairs
    (worst against best and best against worst) and each repeat's own pair."""
    return {
        "best": min(other) / min(base),
        "low": min(other) / max(base),
        "high": max(other) / min(base),
        "per_repeat": [o / b for b, o in zip(base, other, strict=True)],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", metavar="REV", help="compare with this git revision")
    p.add_argument("--env", metavar="VAR=VALUE", nargs="+", help="compare with these set")
    p.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=50, help="timed updates per sample")
    p.add_argument("--repeats", type=int, default=5, help="samples per side (alternating)")
    args = p.parse_args(argv)
    algos = tuple(args.algos)
    if args.against is None and args.env is None:
        print(json.dumps(run(args.threads, args.iters, args.repeats, algos) | head(args.threads)))
        return
    runs = (args.threads, args.iters, args.repeats)
    if args.against is not None:
        other = args.against
        with checkout(args.against) as then:
            result = alternating({"now": (ROOT, None), "then": (then, None)}, algos, *runs)
    else:
        other = " ".join(args.env)
        env = dict(item.split("=", 1) for item in args.env)
        result = alternating({"now": (ROOT, None), "then": (ROOT, env)}, algos, *runs)
    print(f"load average before and after each repeat: {result['load_average']}")
    for algo in algos:
        key = f"{algo}_ms"
        now = [s[key] for s in result["samples"]["now"]]  # type: ignore[index]
        then = [s[key] for s in result["samples"]["then"]]  # type: ignore[index]
        r = ratios(now, then)
        print(
            f"{algo}: now best {min(now):.1f} ms {[round(x, 1) for x in now]}, "
            f"{other} best {min(then):.1f} ms {[round(x, 1) for x in then]}, "
            f"then / now (best) {r['best']:.2f}, "
            f"range over all pairs {r['low']:.2f}-{r['high']:.2f}, "
            f"per repeat {[round(x, 2) for x in r['per_repeat']]}"  # type: ignore[attr-defined]
        )


if __name__ == "__main__":
    main()
