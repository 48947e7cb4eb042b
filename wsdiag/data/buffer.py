"""Replay buffer: preallocated numpy arrays, a typed `Batch`, terminations and truncations apart.

A transition whose episode ended by the time limit (`truncated`) still bootstraps: only
`terminated` zeroes the TD target's continuation. Every transition carries an origin tag
(online, carried over from pretraining, offline dataset) so that Cal-QL's bound and mixed
sampling can split on it, and its Monte-Carlo return-to-go `mc_return`,
G_t = r_t + gamma G_{t+1} to the end of its episode (G = 0 past the last step, as the Cal-QL
authors' ReplayBufferMC computes it, time-limit truncation included): datasets bring it, and the
training loop fills it in for collected transitions when their episode ends (`close_episode`).
Until then it is NaN, "unknown": never 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wsdiag.errors import WsdiagError
from wsdiag.safe_files import read_npz

ORIGIN_ONLINE = 0  # collected by the agent being trained
ORIGIN_PRETRAIN = 1  # carried over from the online pretraining stage by a warm start
ORIGIN_OFFLINE = 2  # from an offline dataset
_FIELDS = (
    "obs",
    "actions",
    "rewards",
    "next_obs",
    "terminated",
    "truncated",
    "origin",
    "mc_return",
)
_OPTIONAL = {"mc_return": np.nan}  # fields that older buffer files may lack, and their filler
_RENAMED = {"origin": "source"}  # the name older buffer files use
SAVED_STATE_BYTES = 1 << 16  # the write pointer and the sampling RNG's state (JSON) in a file


@dataclass(frozen=True)
class Batch:
    """A minibatch of transitions as tensors: obs [N, ds], actions [N, da], the rest [N]."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor  # 1.0 where the episode ended in a terminal state (no bootstrap)
    truncated: torch.Tensor  # 1.0 where the time limit cut the episode (bootstraps)
    origin: torch.Tensor  # int8 origin tag (ORIGIN_*)
    mc_return: torch.Tensor  # discounted return-to-go of the episode from this transition (0 if
    # unknown: online transitions); datasets compute it for Cal-QL's lower bound

    def __len__(self) -> int:
        return self.obs.shape[0]


class ReplayBuffer:
    """A ring buffer of `capacity` transitions with uniform sampling."""

    def __init__(
        self,
        capacity: int,
        obs_dim: int,
        act_dim: int,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self.rng = np.random.default_rng(seed)
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, act_dim), np.float32)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.truncated = np.zeros(capacity, np.float32)
        self.origin = np.zeros(capacity, np.int8)
        self.mc_return = np.full(capacity, np.nan, np.float32)  # unknown until the episode ends
        self.ptr = 0  # next slot to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def obs_dim(self) -> int:
        return self.obs.shape[1]

    @property
    def act_dim(self) -> int:
        return self.actions.shape[1]

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
        origin: int = ORIGIN_ONLINE,
    ) -> None:
        """Store one transition, overwriting the oldest once full."""
        i = self.ptr
        self.obs[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_obs[i] = next_obs
        self.terminated[i] = terminated
        self.truncated[i] = truncated
        self.origin[i] = origin
        self.mc_return[i] = np.nan
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def add_many(self, arrays: dict[str, np.ndarray]) -> None:
        """Store a block of transitions given as arrays named like the `Batch` fields."""
        n = len(arrays["rewards"])
        if n > self.capacity:
            arrays = {k: v[-self.capacity :] for k, v in arrays.items()}
            n = self.capacity
        end = self.ptr + n
        if end <= self.capacity:  # one contiguous block: slice assignment, no index arrays
            for name in _FIELDS:
                getattr(self, name)[self.ptr : end] = arrays.get(name, _OPTIONAL.get(name, 0))
        else:
            idx = (self.ptr + np.arange(n)) % self.capacity
            for name in _FIELDS:
                getattr(self, name)[idx] = arrays.get(name, _OPTIONAL.get(name, 0))
        self.ptr = end % self.capacity
        self.size = min(self.size + n, self.capacity)

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], seed: int = 0, device: str | torch.device = "cpu"
    ) -> ReplayBuffer:
        """A full buffer that adopts the given float32 arrays without copying them."""
        n = len(arrays["rewards"])
        buffer = cls.__new__(cls)
        buffer.capacity, buffer.device = n, torch.device(device)
        buffer.rng = np.random.default_rng(seed)
        for name in _FIELDS:
            dtype = np.int8 if name == "origin" else np.float32
            value = arrays.get(name)
            shape = (n,) if name not in ("obs", "next_obs", "actions") else None
            if value is None:
                value = np.full(shape, _OPTIONAL.get(name, 0), dtype)
            setattr(buffer, name, np.ascontiguousarray(value, dtype=dtype))
        buffer.ptr, buffer.size = 0, n
        return buffer

    def close_episode(self, length: int, gamma: float) -> None:
        """The newest `length` transitions are one finished episode: write their discounted
        return-to-go, G_t = r_t + gamma G_{t+1}, G = 0 after the last (only the slots still held
        once the episode is longer than the capacity)."""
        n = min(length, self.size)
        idx = (self.ptr - n + np.arange(n)) % self.capacity
        rewards = self.rewards[idx].astype(np.float64)
        returns = np.empty(n)
        future = 0.0
        for t in range(n - 1, -1, -1):
            future = rewards[t] + gamma * future
            returns[t] = future
        self.mc_return[idx] = returns

    def arrays(self) -> dict[str, np.ndarray]:
        """The stored transitions, oldest first, as numpy arrays (copies)."""
        if self.size < self.capacity:
            order = np.arange(self.size)
        else:
            order = (self.ptr + np.arange(self.capacity)) % self.capacity
        return {name: getattr(self, name)[order] for name in _FIELDS}

    def recent(self, n: int) -> dict[str, np.ndarray]:
        """The newest min(n, size) transitions, oldest first, as numpy arrays (copies)."""
        n = min(n, self.size)
        idx = (self.ptr - n + np.arange(n)) % self.capacity
        return {name: getattr(self, name)[idx] for name in _FIELDS}

    def sample(self, batch_size: int) -> Batch:
        """A uniform minibatch (with replacement) as tensors on the buffer's device."""
        idx = self.rng.integers(0, self.size, size=batch_size)
        return self._batch(idx)

    def _batch(self, idx: np.ndarray) -> Batch:
        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a[idx]).to(self.device, non_blocking=True)

        return Batch(*(t(getattr(self, name)) for name in _FIELDS))

    # -- persistence: plain .npz, no pickle ------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the filled slots as they lie (with the write pointer) and the sampling RNG."""
        state = json.dumps(self.rng.bit_generator.state).encode()
        filled = {name: getattr(self, name)[: self.size] for name in _FIELDS}
        with open(path, "wb") as fh:
            np.savez(fh, **filled, ptr=np.int64(self.ptr), rng_state=np.frombuffer(state, np.uint8))

    def load(
        self,
        path: str | Path,
        restore_rng: bool = True,
        origin: int | None = None,
        rows: int | None = None,
    ) -> None:
        """Replace the contents by those saved at `path` (re-tagged with `origin` if given);
        `rows`: the capacity of the buffer that saved it (default: this one's), which bounds
        what the file may declare.

        A buffer of the same capacity gets the exact slot layout back, so sampling continues as
        if never interrupted; otherwise the transitions are added oldest first.
        """
        rows = self.capacity if rows is None else rows
        arrays, ptr, rng_state = read_buffer_file(
            path, saved_bytes(rows, self.obs_dim, self.act_dim), f"a buffer of {rows:,} transitions"
        )
        if arrays["obs"].shape[1:] != self.obs.shape[1:] or (
            arrays["actions"].shape[1:] != self.actions.shape[1:]
        ):
            raise WsdiagError(
                f"buffer at {path} holds obs {arrays['obs'].shape[1:]} / actions "
                f"{arrays['actions'].shape[1:]}, this buffer expects {self.obs.shape[1:]} / "
                f"{self.actions.shape[1:]}"
            )
        if origin is not None:
            arrays["origin"][:] = origin
        n = len(arrays["rewards"])
        self.ptr = self.size = 0
        if n == self.capacity or (n < self.capacity and ptr == n):
            for name in _FIELDS:
                getattr(self, name)[:n] = arrays[name]
            self.ptr, self.size = ptr % self.capacity, n
        else:  # a full ring of another capacity: oldest first
            order = (ptr + np.arange(n)) % n
            self.add_many({name: a[order] for name, a in arrays.items()})
        if restore_rng:
            self.rng.bit_generator.state = rng_state


def saved_bytes(rows: int, obs_dim: int, act_dim: int) -> int:
    """The most bytes a saved buffer of `rows` transitions declares: every number at 8 bytes
    (they are float32, origin int8) and the saved state."""
    numbers = 2 * obs_dim + act_dim + len(_FIELDS) - 3
    return 8 * rows * numbers + SAVED_STATE_BYTES


def read_buffer_file(
    path: str | Path, bound: int, why: str
) -> tuple[dict[str, np.ndarray], int, dict]:
    """(slot arrays, write pointer, sampling-RNG state) of a buffer saved by `ReplayBuffer.save`
    whose arrays declare at most `bound` bytes (`why`: where the bound comes from); a file that
    is not one (torn, foreign, holding pickled objects, declaring more) is a WsdiagError."""
    data = read_npz(
        Path(path), "replay buffer", bound, why, required=("rewards", "ptr", "rng_state")
    )
    try:
        n = len(data["rewards"])
        arrays = {name: _field(data, name, n) for name in _FIELDS}
        ragged = [name for name, a in arrays.items() if a.ndim == 0 or len(a) != n]
        if ragged:
            raise ValueError(f"array '{ragged[0]}' does not hold {n} rows as 'rewards' does")
        ptr = int(data["ptr"])
        rng_state = json.loads(data["rng_state"].tobytes().decode())
    except (ValueError, TypeError, KeyError) as exc:
        raise WsdiagError(f"cannot read replay buffer {path}: {exc}") from exc
    return arrays, ptr, rng_state


def _field(data: Any, name: str, n: int) -> np.ndarray:
    """One saved array (`origin` was called `source`; `mc_return` may be missing)."""
    for key in (name, *(_RENAMED.get(name, ()),)):
        if key in data:
            return data[key]
    if name in _OPTIONAL:
        return np.full(n, _OPTIONAL[name], np.float32)
    raise KeyError(f"no array '{name}'")


def concat_batches(*batches: Batch) -> Batch:
    """One batch holding the rows of `batches`, in order."""
    return Batch(*(torch.cat([getattr(b, f) for b in batches]) for f in _FIELDS))


class MixedReplay:
    """An online buffer plus a fixed offline one; each batch draws round(ratio N) offline rows
    (all of them while the online buffer is empty), as Cal-QL and RLPD mix their batches.

    Everything else (adding, recent transitions, saving) concerns the online buffer only.
    """

    def __init__(self, online: ReplayBuffer, offline: ReplayBuffer, ratio: float) -> None:
        self.online, self.offline, self.ratio = online, offline, ratio

    def __len__(self) -> int:
        return len(self.online) + len(self.offline)

    def __getattr__(self, name: str):  # add, recent, save, load, obs_dim, act_dim, ...
        return getattr(self.online, name)

    def sample(self, batch_size: int) -> Batch:
        if len(self.online) == 0:
            return self.offline.sample(batch_size)
        n_offline = round(self.ratio * batch_size)
        return concat_batches(
            self.offline.sample(n_offline), self.online.sample(batch_size - n_offline)
        )
