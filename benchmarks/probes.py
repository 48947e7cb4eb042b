"""Probe speed: the Q-percentile and gradient-norm workloads of the probes issue, and the cost of
one default in-training probe call relative to the training time of one probe interval."""

from __future__ import annotations

import time
from typing import Any

import torch

from benchmarks.common import set_threads
from wsdiag.agents import make_agent
from wsdiag.config import AgentConfig, ProbesConfig
from wsdiag.probes import ProbeSet, action_grad_norm, critic_fn, q_percentile, run_probes

OBS, ACT = 17, 6  # HalfCheetah dimensions


def _timed(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _probe_set(n: int, gen: torch.Generator) -> ProbeSet:
    states = torch.randn(n, OBS, generator=gen).numpy()
    actions = (torch.rand(n, ACT, generator=gen) * 2 - 1).numpy()
    return ProbeSet(states, actions, states[:, 0].copy(), states, 0 * states[:, 0], ["b"] * n)


def run(threads: int, steps_per_s: float | None = None, every: int = 2000) -> dict[str, Any]:
    """Seconds for each workload; with a measured training speed, the default probe overhead."""
    set_threads(threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    agent = make_agent(AgentConfig(algo="td3"), OBS, ACT)
    pretrained = make_agent(AgentConfig(algo="td3"), OBS, ACT)
    q_fn = critic_fn(agent)
    states = torch.randn(1000, OBS, generator=gen)
    actions = torch.rand(1000, ACT, generator=gen) * 2 - 1
    pairs_s, pairs_a = torch.randn(10_000, OBS), torch.rand(10_000, ACT) * 2 - 1
    cfg = ProbesConfig()
    offline, online = _probe_set(cfg.states, gen), _probe_set(cfg.states, gen)
    out: dict[str, Any] = {
        "q_percentile_1000x500_s": _timed(
            lambda: q_percentile(q_fn, states, actions, n_perturb=500, generator=gen)
        ),
        "grad_norm_10000_s": _timed(lambda: action_grad_norm(q_fn, pairs_s, pairs_a)),
        "default_probe_call_s": _timed(
            lambda: run_probes(
                agent, offline, cfg, online=online, pretrained=pretrained, frozen=pretrained
            )
        ),
    }
    if steps_per_s:
        interval_s = every / steps_per_s
        out["probe_interval_train_s"] = interval_s
        out["probe_overhead"] = out["default_probe_call_s"] / interval_s
    return out
