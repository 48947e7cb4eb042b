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


class _Net:
    """The matmul FLOPs of one MLP's passes over `rows` rows."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes

    def forward(self, rows: int) -> int:
        return sum(_mlp_forward(rows, self.sizes))

    def backward(self, rows: int) -> int:
        """Weight and input gradients of every layer but the first's input gradient (data)."""
        layers = _mlp_forward(rows, self.sizes)
        return 2 * sum(layers) - layers[0]

    def input_gradient(self, rows: int) -> int:
        """d out / d input alone (dQ/da for the actor): one input gradient per layer."""
        return self.forward(rows)


ALGOS = ("td3", "td3bc", "sac", "iql", "cql", "calql")


def update_flops(
    algo: str,
    obs_dim: int,
    act_dim: int,
    hidden: tuple[int, ...] = HIDDEN,
    batch: int = BATCH,
    ensemble: int = 2,
    n_actions: int = 10,
) -> dict[str, float]:
    """Matmul FLOPs of one wsdiag update of `algo`, the actor's averaged over its delay (2 for
    TD3 and TD3+BC, 1 otherwise), by part. A layer's backward pass costs its forward twice
    (weight and input gradients), less the first layer's input gradient where its input is
    data; the actor's dQ/da is one input-gradient pass through the critics it maximises (no
    weight gradients: `ActorCritic.actor_direction`).

    - TD3, TD3+BC: E critics forward and backward; the target: the actor and E target critics
      forward; every second update: the actor forward, Q_1 forward, dQ_1/da, the actor backward.
    - SAC: the same with a Gaussian actor (2 da outputs) every update, maximising min_e Q_e (E
      critics forward and dQ/da).
    - IQL: V(s) forward and backward and E target critics forward at the data (the expectile
      loss); V(s') forward and E critics forward and backward (the Q loss); the actor forward
      and backward at the data actions (advantage-weighted log-likelihood).
    - CQL, Cal-QL: SAC, with the regulariser's critic pass over B (3 n + 1) more rows forward
      and backward, and the actor forward on s and s' for its 2 n samples per state (drawn
      together, one pass each).
    """
    critic = _Net([obs_dim + act_dim, *hidden, 1])
    deterministic = _Net([obs_dim, *hidden, act_dim])
    gaussian = _Net([obs_dim, *hidden, 2 * act_dim])
    value = _Net([obs_dim, *hidden, 1])
    b, e = batch, ensemble
    critic_step = e * (critic.forward(b) + critic.backward(b))
    if algo in ("td3", "td3bc"):
        a = deterministic
        parts = {"critic_step": critic_step, "td_target": a.forward(b) + e * critic.forward(b),
                 "actor_step": (a.forward(b) + critic.forward(b) + critic.input_gradient(b)
                                + a.backward(b)) / 2}  # fmt: skip
    elif algo in ("sac", "cql", "calql"):
        a = gaussian
        parts = {"critic_step": critic_step, "td_target": a.forward(b) + e * critic.forward(b),
                 "actor_step": (a.forward(b) + e * critic.forward(b)
                                + e * critic.input_gradient(b) + a.backward(b))}  # fmt: skip
        if algo in ("cql", "calql"):
            rows = b * (3 * n_actions + 1)
            parts["cql_regulariser"] = (e * (critic.forward(rows) + critic.backward(rows))
                                        + 2 * a.forward(b))  # fmt: skip
    elif algo == "iql":
        a = gaussian
        parts = {"value_step": value.forward(b) + value.backward(b) + e * critic.forward(b),
                 "critic_step": critic_step + value.forward(b),
                 "actor_step": a.forward(b) + a.backward(b)}  # fmt: skip
    else:
        raise ValueError(f"no FLOP model for {algo!r} (one of {', '.join(ALGOS)})")
    return {**{k: float(v) for k, v in parts.items()}, "total": float(sum(parts.values()))}


def ceiling(peer_seconds: float, flops: float, peak: float) -> float:
    """The largest peer / wsdiag time ratio wsdiag could reach: the peer's time over the time
    of wsdiag's matmuls alone at the sgemm peak (`peak` FLOP/s), nothing else counted."""
    return peer_seconds / (flops / peak)


def why_short(ratio: float, flops: float, seconds: float, peak: float, target: float) -> str:
    """Why a measured peer / wsdiag ratio (wsdiag's update taking `seconds`) is short of
    `target`: the fraction of peak wsdiag's matmuls reach, and the fraction the target needs
    (over 100%: out of reach on this machine whatever the rest costs)."""
    now = flops / seconds / peak
    needed = now * target / ratio
    reach = "out of reach" if needed > 1.0 else "within reach"
    return (
        f"wsdiag's matmuls run at {100 * now:.0f}% of the sgemm peak; {target}x needs "
        f"{100 * needed:.0f}% ({reach})"
    )


def why_step_short(
    ratio: float, seconds: float, env_seconds: float, flops: float, peak: float, target: float
) -> str:
    """Why a measured wsdiag / peer env-steps-per-second ratio (a wsdiag step taking `seconds`,
    its environment step `env_seconds`, its update `flops` matmul FLOPs) is short of `target`:
    the step's parts, and the time per step the target needs. The floor is the environment's
    step plus the matmuls at the sgemm peak (`peak` FLOP/s); a target below it is out of reach
    on this machine whatever the rest costs."""
    matmuls = flops / peak
    needed = seconds * ratio / target  # the peer's step over the target
    reach = "out of reach" if needed < env_seconds + matmuls else "within reach"
    rest = seconds - env_seconds - matmuls
    return (
        f"a step takes {1e3 * seconds:.2f} ms: the environment {1e3 * env_seconds:.2f}, the "
        f"update's matmuls at the sgemm peak {1e3 * matmuls:.2f}, the rest {1e3 * rest:.2f}; "
        f"{target}x needs {1e3 * needed:.2f} ms ({reach})"
    )


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
        flops = update_flops("td3", obs_dim, act_dim)
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
