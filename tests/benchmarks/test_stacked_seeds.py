"""benchmarks.stacked_seeds: K seeds stacked into one update are K separate updates, computed
together (Adam is elementwise, and seed k's loss reads only seed k's parameters)."""

from __future__ import annotations

import torch

from benchmarks import stacked_seeds
from benchmarks.stacked_seeds import StackedTD3, batches


def test_a_stacked_update_is_the_separate_updates() -> None:
    torch.manual_seed(0)
    singles = [StackedTD3(1) for _ in range(3)]
    stacked = StackedTD3.stack(singles)
    data = batches(3)
    for _ in range(4):  # two actor and target steps (policy delay 2)
        stacked.update(*data)
        for k, agent in enumerate(singles):
            agent.update(*(x[k : k + 1] for x in data))
    for name in ("actor", "critics", "actor_target", "critic_target"):
        for together, *apart in zip(
            getattr(stacked, name).parameters(),
            *(getattr(s, name).parameters() for s in singles),
            strict=True,
        ):
            torch.testing.assert_close(together, torch.cat(apart), rtol=1e-5, atol=1e-6)
    assert not torch.equal(stacked.actor.weights[0][0], stacked.actor.weights[0][1])


def test_seeds_apart_learn_differently_from_seeds_together_on_one_batch() -> None:
    """The test above could pass with every seed reading seed 0's batch; here seed 1's batch
    differs, and so must its parameters after an update."""
    torch.manual_seed(0)
    one = StackedTD3(1)
    stacked = StackedTD3.stack([one, one])  # two seeds, the same start
    stacked.update(*batches(2))
    first, second = stacked.critics.weights[0][:2], stacked.critics.weights[0][2:]
    assert not torch.allclose(first, second)


def test_run_reports_each_k() -> None:
    result = stacked_seeds.run(iters=2, seeds=(1, 2))
    whats = ("separate ms", "stacked ms", "separate / stacked")
    assert set(result) == {f"K={k} {what}" for k in (1, 2) for what in whats}
    assert all(v > 0 for v in result.values())
