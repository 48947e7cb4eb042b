"""Probe speed: one in-training probe call at 1 and 2 torch threads, its share of a one-thread
training run at the demo's probe interval, and the large Q-percentile and gradient-norm
workloads of the probes issue.

The demo (`wsdiag/configs/demo.toml`) trains TD3 on Pendulum-v1 (obs 3, action 1) and probes
every 500 environment steps with the default probe settings (256 states, 64 perturbations, 8 x
500 landscape actions), passing the online transitions, the pretrained agent and the frozen
copy: every probe runs. The call is timed as in a run: the first call of a run also computes the
pretrained critic's numbers, every later call reuses them (docs/probes.md, Cost), and both are
reported. The share is call / (training time of one interval + call), the interval's training
time from wsdiag's real `Loop` at one thread (`throughput.wsdiag_steps_per_s`: one update per
environment step, no evaluation).

`python -m benchmarks.probes --against REV` times the demo's call in this checkout and in a git
revision, in alternating processes, at 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from benchmarks.common import ENV_DIMS, ROOT, checkout, in_process, load_average, set_threads
from wsdiag.agents import make_agent
from wsdiag.config import AgentConfig, ProbesConfig
from wsdiag.probes import ProbeSet, action_grad_norm, critic_fn, q_percentile, run_probes, suite

DEMO_ENV, DEMO_EVERY = "Pendulum-v1", 500  # the demo's environment and probes.every


def _timed(fn: Callable[[], object], repeats: int = 5, before: Callable[[], None] = lambda: None):
    """Best wall time of `repeats` calls of fn (after one untimed call); `before` runs untimed
    ahead of each."""
    before()
    fn()
    best = float("inf")
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _probe_set(n: int, obs: int, act: int, gen: torch.Generator) -> ProbeSet:
    states = torch.randn(n, obs, generator=gen).numpy()
    actions = (torch.rand(n, act, generator=gen) * 2 - 1).numpy()
    labels = np.array(["b"] * n)
    return ProbeSet(states, actions, states[:, 0].copy(), states, 0 * states[:, 0], labels)


def probe_call(env_id: str, repeats: int = 5) -> dict[str, float]:
    """Seconds of one default probe call with every input (TD3 agents of `env_id`'s sizes):
    later calls of a run (`call_s`) and the first (`first_call_s`)."""
    obs, act = ENV_DIMS[env_id]
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    agent, pretrained, frozen = (make_agent(AgentConfig(algo="td3"), obs, act) for _ in range(3))
    cfg = ProbesConfig()
    behaviour, online = _probe_set(cfg.states, obs, act, gen), _probe_set(cfg.states, obs, act, gen)

    def call() -> None:
        run_probes(agent, behaviour, cfg, online=online, pretrained=pretrained, frozen=frozen)

    return {
        "call_s": _timed(call, repeats),
        # earlier versions keep nothing between calls
        "first_call_s": _timed(call, repeats, before=getattr(suite, "_FIXED", {}).clear),
    }


def workloads(repeats: int = 3) -> dict[str, float]:
    """The probes issue's large workloads on a HalfCheetah-sized TD3 critic (E = 2)."""
    obs, act = ENV_DIMS["HalfCheetah-v5"]
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    q_fn = critic_fn(make_agent(AgentConfig(algo="td3"), obs, act))
    states, actions = torch.randn(1000, obs, generator=gen), torch.rand(1000, act) * 2 - 1
    pairs_s, pairs_a = torch.randn(10_000, obs), torch.rand(10_000, act) * 2 - 1
    return {
        "q_percentile_1000x500_s": _timed(
            lambda: q_percentile(q_fn, states, actions, n_perturb=500, generator=gen), repeats
        ),
        "grad_norm_10000_s": _timed(lambda: action_grad_norm(q_fn, pairs_s, pairs_a), repeats),
    }


def run(
    threads: tuple[int, ...] = (1, 2), train_steps: int = 1_000, random_steps: int = 500
) -> dict[str, Any]:
    """The probe call (demo and HalfCheetah sizes) and the workloads at each thread count, and
    the demo's probe share at one thread."""
    from benchmarks.throughput import wsdiag_steps_per_s

    out: dict[str, Any] = {}
    for n in threads:
        set_threads(n)
        out[f"load_average_{n}_threads"] = load_average()
        for env_id, name in ((DEMO_ENV, "demo"), ("HalfCheetah-v5", "halfcheetah")):
            call = probe_call(env_id)
            out[f"{name}_call_{n}t_s"] = call["call_s"]
            out[f"{name}_first_call_{n}t_s"] = call["first_call_s"]
        out |= {f"{k[:-2]}_{n}t_s": v for k, v in workloads().items()}
    set_threads(1)
    rate = wsdiag_steps_per_s("td3", DEMO_ENV, train_steps, random_steps, 100_000)
    interval = DEMO_EVERY / rate
    call = out.get("demo_call_1t_s", probe_call(DEMO_ENV)["call_s"])
    first = out.get("demo_first_call_1t_s", call)
    out |= {
        "demo_train_1t_steps_per_s": rate,
        "demo_interval_1t_s": interval,
        "demo_probe_share_1t": call / (interval + call),
        "demo_probe_share_first_call_1t": first / (interval + first),
        "load_average_end": load_average(),
    }
    if out["demo_probe_share_1t"] > SHARE_TARGET:
        out["demo_probe_share_1t_over_target"] = OVER_TARGET
    return out


SHARE_TARGET = 0.05  # a probe call's share of a one-thread run at the demo's interval
OVER_TARGET = (
    "over 5%: over half of a call is the agent's own Q-percentiles (3 forms x 16,384 critic "
    "rows through both critics, about 13 GFLOP), a quarter the Q-softmax drift; both change "
    "with the agent, so neither can be kept between calls (docs/performance.md, Probes)"
)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", metavar="REV", required=True, help="compare with this revision")
    p.add_argument("--repeats", type=int, default=4, help="processes per side and thread count")
    args = p.parse_args(argv)
    code = (
        "import torch; from benchmarks.probes import probe_call; torch.set_num_threads({n}); "
        f"print(json.dumps(probe_call({DEMO_ENV!r})))"
    )
    with checkout(args.against) as then:
        sides = {"now": ROOT, args.against: then}
        for n in (1, 2):
            samples: dict[str, list[dict]] = {name: [] for name in sides}
            loads = [load_average()]
            for r in range(args.repeats):
                for name in list(sides) if r % 2 == 0 else list(sides)[::-1]:
                    samples[name].append(in_process(sides[name], code.format(n=n)))
                loads.append(load_average())
            print(f"{n} thread(s), load average after each repeat {loads}")
            for name, values in samples.items():
                for key in ("call_s", "first_call_s"):
                    runs = [round(v[key], 3) for v in values]
                    print(f"  {name} {key}: best {min(runs):.3f} s, all {runs}")


if __name__ == "__main__":
    main()
