"""benchmarks.flops: the matmul FLOPs of each algorithm's update against hand counts on tiny
shapes, and why a ratio falls short of its target. Nothing is timed here."""

from __future__ import annotations

import pytest

from benchmarks import flops


def test_td3_counts_match_a_hand_count() -> None:
    """obs 2, action 1, hidden [4], batch 1: critic layers 3x4 and 4x1 (24 + 8 FLOPs forward),
    actor layers 2x4 and 4x1 (16 + 8). Critic step 2 (32 + 2 * 32 - 24) = 144; target 24 + 2 *
    32 = 88; actor step (24 + 32 + 32 + 2 * 24 - 16) / 2 = 60."""
    counts = flops.update_flops("td3", 2, 1, hidden=(4,), batch=1)
    assert counts == {"critic_step": 144.0, "td_target": 88.0, "actor_step": 60.0, "total": 292.0}
    assert flops.update_flops("td3bc", 2, 1, hidden=(4,), batch=1) == counts


def test_sac_iql_and_cql_counts() -> None:
    """The Gaussian actor has 2 da outputs (2x4, 4x2: 16 + 16 forward); value net 2x4, 4x1."""
    sac = flops.update_flops("sac", 2, 1, hidden=(4,), batch=1)
    actor = 32 + 2 * 32 - 16  # forward and backward
    assert sac["td_target"] == 32 + 2 * 32
    assert sac["actor_step"] == actor + 2 * 32 + 2 * 32  # min of both critics and their dQ/da
    iql = flops.update_flops("iql", 2, 1, hidden=(4,), batch=1)
    assert iql["value_step"] == 24 + (2 * 24 - 16) + 2 * 32
    assert iql["actor_step"] == actor and iql["critic_step"] == 144 + 24
    cql = flops.update_flops("cql", 2, 1, hidden=(4,), batch=1, n_actions=2)
    rows = 7  # 3 n + 1 per state
    assert cql["cql_regulariser"] == 2 * (32 * rows + (2 * 32 - 24) * rows) + 2 * 32
    assert cql["total"] == sac["total"] + cql["cql_regulariser"]
    assert flops.update_flops("calql", 2, 1, hidden=(4,), batch=1, n_actions=2) == cql
    with pytest.raises(ValueError, match="no FLOP model"):
        flops.update_flops("bcq", 2, 1)


def test_why_a_ratio_is_short_names_the_share_of_peak_it_needs() -> None:
    """100 MFLOP in 2 ms at a 100 GFLOP/s peak: 50% of peak; a ratio of 1.0 needs 65% for 1.3x,
    a ratio of 0.5 needs 130%: out of reach."""
    assert flops.why_short(1.0, 1e8, 2e-3, 1e11, 1.3) == (
        "wsdiag's matmuls run at 50% of the sgemm peak; 1.3x needs 65% (within reach)"
    )
    assert flops.why_short(0.5, 1e8, 2e-3, 1e11, 1.3).endswith("needs 130% (out of reach)")
    assert flops.ceiling(4e-3, 1e8, 1e11) == pytest.approx(4.0)


def test_why_a_step_ratio_is_short_splits_the_step() -> None:
    """A 4 ms step with a 1 ms environment and 1e8 FLOPs at 1e11 FLOP/s (1 ms): 2 ms of rest.
    At ratio 1.0 the peer takes 4 ms and 1.3x needs 3.08 ms (floor 2 ms: within reach); at 0.5
    it needs 1.54 ms, below the floor."""
    assert flops.why_step_short(1.0, 4e-3, 1e-3, 1e8, 1e11, 1.3) == (
        "a step takes 4.00 ms: the environment 1.00, the update's matmuls at the sgemm peak "
        "1.00, the rest 2.00; 1.3x needs 3.08 ms (within reach)"
    )
    assert flops.why_step_short(0.5, 4e-3, 1e-3, 1e8, 1e11, 1.3).endswith(
        "needs 1.54 ms (out of reach)"
    )
