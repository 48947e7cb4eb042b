"""Networks: MLPs, a critic ensemble with batched weights, deterministic and tanh-Gaussian actors.

Initialisation follows `torch.nn.Linear` (weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))),
as in the TD3 and SAC reference implementations. Every actor and critic standardises its
observation input first, (s - mean) / std, with statistics that are part of its state (the
identity unless a dataset set them: TD3+BC's state normalisation), so that whatever calls a
network (the agent, a probe, a mitigation) feeds it raw observations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # SAC (Haarnoja et al.) log-std clamp


def mlp(sizes: Sequence[int], layer_norm: bool = False) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU (and optional LayerNorm) between them."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            if layer_norm:
                layers.append(nn.LayerNorm(sizes[i + 1]))
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ObsNorm(nn.Module):
    """(s - mean) / std with fixed, saved statistics (mean 0, std 1 until `set` is called)."""

    def __init__(self, obs_dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(obs_dim))
        self.register_buffer("std", torch.ones(obs_dim))

    def set(self, mean: Tensor, std: Tensor) -> None:
        with torch.no_grad():
            self.mean.copy_(mean)
            self.std.copy_(std)

    def forward(self, obs: Tensor) -> Tensor:
        return (obs - self.mean) / self.std


class EnsembleLinear(nn.Module):
    """E independent affine maps held as one weight [E, in, out]: y_e = x_e W_e + b_e."""

    def __init__(self, ensemble: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(ensemble, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(ensemble, 1, out_features))
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(
        self, x: Tensor, members: Tensor | slice | None = None, out: Tensor | None = None
    ) -> Tensor:
        """x: [N, in] (shared by all members) or [E', N, in]; returns [E', N, out], written into
        `out` (no gradients) when given.

        A shared input enters the batched matmul as a stride-0 view: no copy, and the bias is
        added inside it, with the same result to the last bit as a broadcast matmul followed by
        the bias. One matrix-vector product per member for a one-output layer would run the
        forward pass of a critic's head 1.6x faster but round differently, so that runs of the
        same seed would no longer repeat earlier ones, for no gain in a training step
        (docs/performance.md, CQL).
        """
        w, b = self.weight, self.bias
        if members is not None:
            w, b = w[members], b[members]
        if x.dim() == 2:
            x = x.expand(w.shape[0], *x.shape)
        if out is not None:
            return torch.baddbmm(b, x, w, out=out)
        return torch.baddbmm(b, x, w)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over the last dimension with a separate affine transform per member."""

    def __init__(self, ensemble: int, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ensemble, 1, features))
        self.bias = nn.Parameter(torch.zeros(ensemble, 1, features))

    def forward(self, x: Tensor, members: Tensor | slice | None = None) -> Tensor:
        w, b = self.weight, self.bias
        if members is not None:
            w, b = w[members], b[members]
        return torch.addcmul(b, F.layer_norm(x, x.shape[-1:]), w)


class EnsembleCritic(nn.Module):
    """E critics Q_e(s, a) evaluated together: one batched matmul per layer.

    forward(obs [N, ds], act [N, da]) -> [E, N]. Passing `members` (indices) evaluates only those
    critics, which is how the REDQ target uses a random subset without computing all E.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        ensemble: int = 2,
        hidden: Sequence[int] = (256, 256),
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        self.ensemble = ensemble
        self.obs_norm = ObsNorm(obs_dim)
        sizes = [obs_dim + act_dim, *hidden, 1]
        self.linears = nn.ModuleList(
            EnsembleLinear(ensemble, sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)
        )
        self.norms = (
            nn.ModuleList(EnsembleLayerNorm(ensemble, h) for h in hidden) if layer_norm else None
        )

    def forward(self, obs: Tensor, act: Tensor, members: Tensor | slice | None = None) -> Tensor:
        return self._layers(torch.cat([self.obs_norm(obs), act], dim=-1), members)

    def evaluate(self, obs: Tensor, act: Tensor, rows: int) -> Tensor:
        """forward(obs, act) [E, N] without gradients, `rows` rows at a time, each hidden layer
        writing into one buffer that every slice reuses. Fresh [E, rows, width] tensors per
        slice would be freed and allocated again and again, and the C library returns such
        blocks to the system and faults their pages in anew each time (docs/performance.md,
        Probes)."""
        with torch.no_grad():
            sizes = [linear.weight.shape[-1] for linear in self.linears[:-1]]
            buffers = [obs.new_empty(self.ensemble * rows * width) for width in sizes]
            q = []
            for s, a in zip(obs.split(rows), act.split(rows), strict=True):
                n = len(s)
                views = [b[: self.ensemble * n * w].view(self.ensemble, n, w)
                         for b, w in zip(buffers, sizes, strict=True)]  # fmt: skip
                q.append(self._layers(torch.cat([self.obs_norm(s), a], dim=-1), None, views))
            return torch.cat(q, dim=1)

    def _layers(
        self, x: Tensor, members: Tensor | slice | None, buffers: list[Tensor] | None = None
    ) -> Tensor:
        for i, linear in enumerate(self.linears[:-1]):
            x = linear(x, members, None if buffers is None else buffers[i])
            if self.norms is not None:
                x = self.norms[i](x, members)
            x = F.relu(x, inplace=True)  # x is this layer's own output: no copy needed
        return self.linears[-1](x, members).squeeze(-1)


class DeterministicActor(nn.Module):
    """a = tanh(f(s)) in [-1, 1]^da (TD3, DDPG)."""

    def __init__(
        self, obs_dim: int, act_dim: int, hidden: Sequence[int], layer_norm: bool = False
    ) -> None:
        super().__init__()
        self.obs_norm = ObsNorm(obs_dim)
        self.net = mlp([obs_dim, *hidden, act_dim], layer_norm)

    def forward(self, obs: Tensor) -> Tensor:
        return torch.tanh(self.net(self.obs_norm(obs)))


class GaussianActor(nn.Module):
    """Tanh-squashed diagonal Gaussian (SAC): u ~ N(mu(s), sigma(s)), a = tanh(u)."""

    def __init__(
        self, obs_dim: int, act_dim: int, hidden: Sequence[int], layer_norm: bool = False
    ) -> None:
        super().__init__()
        self.obs_norm = ObsNorm(obs_dim)
        self.trunk = mlp([obs_dim, *hidden], layer_norm)
        self.trunk.append(nn.LayerNorm(hidden[-1]) if layer_norm else nn.Identity())
        self.trunk.append(nn.ReLU())
        self.head = nn.Linear(hidden[-1], 2 * act_dim)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, std) of the pre-squash Gaussian."""
        mean, log_std = self.head(self.trunk(self.obs_norm(obs))).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()

    def sample(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """A reparameterised action and its log-density, log pi(a|s) = log N(u) - sum log(1-a^2).

        The Jacobian term uses log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), exact and stable.
        """
        mean, std = self(obs)
        return self._squashed(mean, std, torch.randn_like(mean))

    def sample_many(self, obs: Tensor, n: int) -> tuple[Tensor, Tensor]:
        """n actions per state in one pass of the network: what `sample` returns for
        `obs.repeat_interleave(n, 0)` ([N n, da], [N n]; row i n + j is state i), with the same
        random numbers drawn in the same order."""
        mean, std = self(obs)
        mean, std = mean.repeat_interleave(n, 0), std.repeat_interleave(n, 0)
        return self._squashed(mean, std, torch.randn_like(mean))

    @staticmethod
    def _squashed(mean: Tensor, std: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
        u = mean + std * noise
        log_prob = (-0.5 * ((u - mean) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).sum(
            -1
        )
        log_prob = log_prob - (2 * (math.log(2.0) - u - F.softplus(-2 * u))).sum(-1)
        return torch.tanh(u), log_prob
