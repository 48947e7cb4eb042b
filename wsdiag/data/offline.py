"""A dataset as training data: loading, the retention modes of offline-to-online fine-tuning.

Retention (warmstart.offline_data), after offline pretraining on N transitions:
    all             every transition stays (in the online buffer, or mixed per batch by ratio)
    fraction        a uniformly random max(fraction N, min_transitions) stay (REDQ+AdaptiveBC: 5%)
    none            nothing stays (WSRL's no-retention fine-tuning)
    dataset_warmup  K random transitions seed the online buffer (WSRL appendix K)
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from wsdiag.config import WarmstartConfig
from wsdiag.data.buffer import ORIGIN_OFFLINE, MixedReplay, ReplayBuffer
from wsdiag.data.minari_io import to_transitions
from wsdiag.data.minari_read import check_episodes, flat_shape, read_episodes, read_metadata
from wsdiag.data.probe_set import ProbeSet
from wsdiag.errors import WsdiagError


@dataclass(frozen=True)
class OfflineData:
    """Transitions of a dataset in the agents' units, their labels and reference scores."""

    dataset_id: str
    arrays: dict[str, np.ndarray]
    labels: np.ndarray
    ref_min_score: float | None
    ref_max_score: float | None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> OfflineData:
        arrays = {k: v[idx] for k, v in self.arrays.items()}
        return OfflineData(
            self.dataset_id, arrays, self.labels[idx], self.ref_min_score, self.ref_max_score
        )

    def obs_stats(self, eps: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std + eps) of the dataset's observations, per dimension: TD3+BC's state
        normalisation (Fujimoto & Gu's code, eps = 1e-3)."""
        obs = self.arrays["obs"].astype(np.float64)
        mean, std = obs.mean(0), obs.std(0) + eps
        return torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)

    @property
    def ref_scores(self) -> tuple[float, float] | None:
        if self.ref_min_score is None or self.ref_max_score is None:
            return None
        return self.ref_min_score, self.ref_max_score

    def to_buffer(self, seed: int, device: str = "cpu") -> ReplayBuffer:
        """A buffer over exactly these transitions (sharing their memory), tagged as offline."""
        origin = np.full(len(self), ORIGIN_OFFLINE, np.int8)
        return ReplayBuffer.from_arrays(self.arrays | {"origin": origin}, seed, device)

    def probe_set(self, n: int, seed: int) -> ProbeSet:
        """n transitions drawn uniformly without replacement (all if fewer), labels kept."""
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(len(self), size=min(n, len(self)), replace=False))
        a = self.arrays
        return ProbeSet(
            a["obs"][idx],
            a["actions"][idx],
            a["rewards"][idx],
            a["next_obs"][idx],
            a["terminated"][idx],
            self.labels[idx],
        )


def load_offline_data(dataset_id: str, env: gym.Env, gamma: float) -> OfflineData:
    """Read a local dataset for `env` (shapes checked) with actions rescaled to [-1, 1]."""
    meta = check_dataset(dataset_id, env)
    space = env.unwrapped.action_space
    arrays, labels = to_transitions(read_episodes(dataset_id), space.low, space.high, gamma)
    return OfflineData(
        dataset_id, arrays, labels, meta.get("ref_min_score"), meta.get("ref_max_score")
    )


def check_dataset(dataset_id: str, env: gym.Env) -> dict:
    """The metadata of a local dataset whose spaces fit `env` and whose data file opens whole
    (checked before any step of a run that trains on it)."""
    meta = read_metadata(dataset_id)
    obs_shape = flat_shape(meta["observation_space"])
    act_shape = tuple(meta["action_space"]["shape"])
    if obs_shape != env.observation_space.shape or act_shape != env.action_space.shape:
        raise WsdiagError(
            f"dataset '{dataset_id}' has observations {obs_shape} and actions {act_shape}; the "
            f"environment has {env.observation_space.shape} and {env.action_space.shape}"
        )
    check_episodes(dataset_id, meta)
    return meta


def retained(data: OfflineData, ws: WarmstartConfig, seed: int) -> OfflineData | None:
    """The offline transitions kept for fine-tuning under `ws.offline_data` (None: nothing)."""
    rng = np.random.default_rng(seed)
    n = len(data)
    if ws.offline_data == "none":
        return None
    if ws.offline_data == "all":
        return data
    if ws.offline_data == "fraction":
        keep = min(n, max(round(ws.offline_fraction * n), ws.offline_min_transitions))
    else:  # dataset_warmup
        keep = min(n, ws.dataset_warmup_transitions)
    return data.subset(np.sort(rng.choice(n, size=keep, replace=False)))


@dataclass(frozen=True)
class OnlineBuffers:
    """The online stage's replay: where transitions go, what batches come from, and the offline
    transitions the warm start adds to `store` (None: none, or kept apart in a mixed replay)."""

    store: ReplayBuffer
    sample: ReplayBuffer | MixedReplay
    seed_with: OfflineData | None


def online_buffers(
    capacity: int,
    obs_dim: int,
    act_dim: int,
    ws: WarmstartConfig,
    data: OfflineData | None,
    seed: int,
    device: str = "cpu",
) -> OnlineBuffers:
    """`capacity` online slots; after offline pretraining, the retained data
    (`warmstart.offline_data`) either joins them (and the capacity grows by its size) or, with
    `warmstart.offline_ratio`, stays in its own buffer that each batch draws that share from."""
    kept = retained(data, ws, seed) if data is not None else None
    mixed = kept is not None and ws.offline_ratio is not None
    kept_capacity = len(kept) if kept is not None and not mixed else 0
    store = ReplayBuffer(capacity + kept_capacity, obs_dim, act_dim, seed, device)
    if mixed:
        assert kept is not None and ws.offline_ratio is not None
        return OnlineBuffers(
            store, MixedReplay(store, kept.to_buffer(seed), ws.offline_ratio), None
        )
    return OnlineBuffers(store, store, kept)
