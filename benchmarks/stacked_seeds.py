"""Several seeds' TD3 updates in one process: K separate updates against one update of the K
seeds' networks stacked (a prototype: wsdiag trains one seed per process).

Both sides run the same code, `StackedTD3`: K instances of one seed updated one after another,
against one instance of K seeds, whose every layer is one batched matmul over [K, batch, in]
(`torch.baddbmm`) and whose Adam steps every seed's parameters at once. Adam is elementwise and
seed k's loss term depends only on seed k's parameters, so the stacked update is K separate
updates, computed together. One update of seed k on its batch (s, a, r, s'):

    y = r + gamma * min_e Q'_ke(s', tanh(mu'_k(s')))   (no target noise: it costs the same)
    critics: sum_e mean_n (Q_ke(s, a) - y)^2
    every `policy_delay`-th update: actor -mean_n Q_k1(s, tanh(mu_k(s))), targets <- Polyak tau

Pendulum sizes, 64-64 networks, batch 256, 2 critics, one thread: the counterfactual runs of
`wsdiag diagnose --confirm` on the demo. What K seeds in one process would save per update is
separate / stacked at each K (docs/performance.md, Confirmation).
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import Tensor, nn

from benchmarks.common import BATCH, LR, per_call_seconds, set_threads

OBS, ACT, HIDDEN = 3, 1, (64, 64)
CRITICS, GAMMA, TAU, POLICY_DELAY = 2, 0.99, 0.005, 2


class StackedMLP(nn.Module):
    """n independent MLPs with ReLU between layers: x [n, B, in] -> [n, B, out]."""

    def __init__(self, n: int, sizes: list[int]) -> None:
        super().__init__()
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(n, i, o) / i**0.5) for i, o in itertools.pairwise(sizes)
        )
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(n, 1, o)) for o in sizes[1:])

    def forward(self, x: Tensor) -> Tensor:
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            x = x if k == last else torch.relu(x)
        return x


class StackedTD3:
    """The TD3 updates of `seeds` seeds, each with its actor and `CRITICS` critics."""

    def __init__(self, seeds: int) -> None:
        self.seeds = seeds
        self.actor = StackedMLP(seeds, [OBS, *HIDDEN, ACT])
        self.critics = StackedMLP(seeds * CRITICS, [OBS + ACT, *HIDDEN, 1])  # seed k: k*E..k*E+E-1
        self.actor_target, self.critic_target = (
            copy.deepcopy(self.actor),
            copy.deepcopy(self.critics),
        )
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), LR)
        self.critic_opt = torch.optim.Adam(self.critics.parameters(), LR)
        self.updates = 0

    @classmethod
    def stack(cls, singles: list[StackedTD3]) -> StackedTD3:
        """One instance holding the given one-seed instances' parameters, seed after seed."""
        stacked = cls(len(singles))
        for name in ("actor", "critics", "actor_target", "critic_target"):
            params = zip(*(getattr(s, name).parameters() for s in singles), strict=True)
            for mine, theirs in zip(getattr(stacked, name).parameters(), params, strict=True):
                mine.data.copy_(torch.cat([p.data for p in theirs]))
        return stacked

    def q(self, critics: StackedMLP, s: Tensor, a: Tensor) -> Tensor:
        """Q_ke(s, a): [seeds, CRITICS, B]."""
        x = torch.cat([s, a], -1).repeat_interleave(CRITICS, dim=0)
        return critics(x).view(self.seeds, CRITICS, -1)

    def update(self, s: Tensor, a: Tensor, r: Tensor, s2: Tensor) -> None:
        """One update of every seed on its batch: s, s2 [seeds, B, OBS], a [seeds, B, ACT], r
        [seeds, B]."""
        with torch.no_grad():
            a2 = torch.tanh(self.actor_target(s2))
            y = r + GAMMA * self.q(self.critic_target, s2, a2).min(dim=1).values
        loss = (self.q(self.critics, s, a) - y[:, None]).pow(2).mean(-1).sum()
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_opt.step()
        self.updates += 1
        if self.updates % POLICY_DELAY:
            return
        actor_loss = -self.q(self.critics, s, torch.tanh(self.actor(s)))[:, 0].mean(-1).sum()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()
        with torch.no_grad():
            for net, target in (
                (self.actor, self.actor_target),
                (self.critics, self.critic_target),
            ):
                for p, t in zip(net.parameters(), target.parameters(), strict=True):
                    t.lerp_(p, TAU)


def batches(seeds: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Fixed random batches for `seeds` seeds: s, a, r, s2."""
    g = torch.Generator().manual_seed(seed)
    s, s2 = torch.randn(seeds, BATCH, OBS, generator=g), torch.randn(seeds, BATCH, OBS, generator=g)
    a = torch.rand(seeds, BATCH, ACT, generator=g) * 2 - 1
    return s, a, torch.randn(seeds, BATCH, generator=g), s2


def _timed(k: int, iters: int) -> dict[str, float]:
    """ms per update of all k seeds, separately and stacked, and their ratio."""
    singles = [StackedTD3(1) for _ in range(k)]
    data = batches(k)
    parts = [tuple(x[i : i + 1] for x in data) for i in range(k)]
    stacked = StackedTD3.stack(singles)

    def separate() -> None:
        for agent, batch in zip(singles, parts, strict=True):
            agent.update(*batch)

    one = per_call_seconds(separate, iters, warmup=20)
    together = per_call_seconds(lambda: stacked.update(*data), iters, warmup=20)
    return {f"K={k} separate ms": one * 1e3, f"K={k} stacked ms": together * 1e3,
            f"K={k} separate / stacked": one / together}  # fmt: skip


def run(
    iters: int = 300, seeds: tuple[int, ...] = (1, 5, 10), threads: int = 1
) -> dict[str, float]:
    """ms per update of all K seeds, separately and stacked, and their ratio, at each K."""
    set_threads(threads)
    torch.manual_seed(0)
    results: dict[str, float] = {}
    for k in seeds:
        results |= _timed(k, iters)
    return results
