"""Fraction of peak FLOP/s that one wsdiag TD3 update reaches.

Peak: a 256x256 @ 256x256 float32 matmul (`torch.mm`, the shape of a hidden layer at batch 256)
timed in a loop. Update: the analytic matmul FLOPs of one TD3 update divided by the measured time
of `agent.update` on pre-sampled batches (sampling is not timed). Only matmul FLOPs are counted;
bias adds, activations and Adam are a few percent of the total at these widths and are left out,
so the fraction slightly understates the arithmetic done.
"""

from __future__ import annotations

import torch

from benchmarks.common import (
    BATCH,
    ENV_DIMS,
    HIDDEN,
    LR,
    per_call_seconds,
    random_buffer,
    set_threads,
)
from wsdiag.agents import make_agent
from wsdiag.config import AgentConfig


def sgemm_flops_per_s(n: int = 256, iters: int = 2_000) -> float:
    """FLOP/s of an n x n @ n x n float32 `torch.mm` (2 n^3 FLOPs per call)."""
    a, b, out = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    seconds = per_call_seconds(lambda: torch.mm(a, b, out=out), iters, repeats=5, warmup=50)
    return 2 * n**3 / seconds


def _mlp_forward(batch: int, sizes: list[int]) -> list[int]:
    """Matmul FLOPs of each layer's forward pass: 2 * batch * fan_in * fan_out."""
    return [2 * batch * sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1)]


def td3_update_flops(
    obs_dim: int,
    act_dim: int,
    hidden: tuple[int, ...] = HIDDEN,
    batch: int = BATCH,
    ensemble: int = 2,
    target_subset: int = 2,
    policy_delay: int = 2,
) -> dict[str, float]:
    """Matmul FLOPs of one TD3 update, averaged over the policy delay.

    A layer's backward pass costs its forward twice (weight and input gradients), except that the
    first layer needs no input gradient when its input is data. Per update:
    critic step: E critics forward + backward; TD target: target actor forward + M target critics
    forward; every `policy_delay` updates: actor forward, critic Q_1 forward, dQ/da (input
    gradients only through Q_1), and actor backward.
    """
    critic = _mlp_forward(batch, [obs_dim + act_dim, *hidden, 1])
    actor = _mlp_forward(batch, [obs_dim, *hidden, act_dim])
    c_fwd, a_fwd = sum(critic), sum(actor)
    c_bwd_weights_and_inputs = 2 * c_fwd - critic[0]  # no input gradient for data
    critic_step = ensemble * (c_fwd + c_bwd_weights_and_inputs)
    td_target = a_fwd + target_subset * c_fwd
    dq_da = c_fwd  # input gradients of every layer of Q_1 (the first layer's gives dQ/da)
    actor_bwd = 2 * a_fwd - actor[0]
    actor_step = a_fwd + c_fwd + dq_da + actor_bwd
    total = critic_step + td_target + actor_step / policy_delay
    return {
        "critic_step": float(critic_step),
        "td_target": float(td_target),
        "actor_step_per_update": actor_step / policy_delay,
        "total": float(total),
    }


def td3_update_seconds(obs_dim: int, act_dim: int, iters: int = 300, seed: int = 0) -> float:
    """Mean wall time of one `agent.update` of wsdiag TD3 (E=2) on pre-sampled batches."""
    torch.manual_seed(seed)
    cfg = AgentConfig(algo="td3", hidden=HIDDEN, batch_size=BATCH, actor_lr=LR, critic_lr=LR)
    agent = make_agent(cfg, obs_dim, act_dim)
    buffer = random_buffer(obs_dim, act_dim, seed=seed)
    batches = [buffer.sample(BATCH) for _ in range(iters)]
    for batch in batches[:20]:  # warm-up
        agent.update(batch)
    it = iter(batches * 3)  # per_call_seconds runs 3 repeats of `iters` calls
    return per_call_seconds(lambda: agent.update(next(it)), iters, repeats=3, warmup=0)


def run(
    update_iters: int = 300, threads: int = 2, env_ids: tuple[str, ...] = tuple(ENV_DIMS)
) -> dict[str, object]:
    """Peak sgemm FLOP/s and, per env, TD3 update FLOPs, time and fraction of peak."""
    set_threads(threads)
    peak = sgemm_flops_per_s()
    rows = []
    for env_id in env_ids:
        obs_dim, act_dim = ENV_DIMS[env_id]
        flops = td3_update_flops(obs_dim, act_dim)
        seconds = td3_update_seconds(obs_dim, act_dim, update_iters)
        achieved = flops["total"] / seconds
        rows.append(
            {
                "env": env_id,
                "update_mflop": flops["total"] / 1e6,
                "update_ms": seconds * 1e3,
                "achieved_gflop_per_s": achieved / 1e9,
                "fraction_of_peak": achieved / peak,
                "flops_breakdown": flops,
            }
        )
    return {"threads": threads, "sgemm_n": 256, "peak_gflop_per_s": peak / 1e9, "updates": rows}
