"""Minari datasets on local disk: write episodes, read transitions, describe, check presence.

Nothing here touches the network: a dataset that is not under the local root is a clear error.
Datasets store actions in the environment's own units; `load_transitions` rescales them to the
[-1, 1] box the agents use. Each episode's metadata names the policy that produced it and its
quality label (`expert`, `random`, `non-expert`, ...), so probes can split on it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy.signal import lfilter

from wsdiag.envs import flatten_batch
from wsdiag.errors import WsdiagError


@dataclass
class Episode:
    """One episode in environment units: observations [T+1, ds], actions [T, da], the rest [T]."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)  # policy, label, seed, source

    def __len__(self) -> int:
        return len(self.rewards)


def datasets_root() -> Path:
    """Minari's dataset root: $MINARI_DATASETS_PATH, else ~/.minari/datasets (not created here);
    a root that exists but is not a folder is an error."""
    env = os.environ.get("MINARI_DATASETS_PATH")
    root = Path(env) if env else Path.home() / ".minari" / "datasets"
    if root.exists() and not root.is_dir():
        where = "MINARI_DATASETS_PATH" if env else "the default dataset root"
        raise WsdiagError(f"{where} ({root}) is a file, not a folder of datasets")
    return root


def dataset_path(dataset_id: str) -> Path:
    return datasets_root() / dataset_id


def is_local(dataset_id: str) -> bool:
    return (dataset_path(dataset_id) / "data" / "metadata.json").is_file()


def require_local(dataset_id: str) -> None:
    """Raise a clear error, without any network access, when the dataset is not on disk."""
    if not is_local(dataset_id):
        raise WsdiagError(
            f"dataset '{dataset_id}' is not on this machine (looked in {datasets_root()}); "
            f"create it with `wsdiag data collect`, or run `minari download {dataset_id}` on a "
            "connected machine and copy it under MINARI_DATASETS_PATH"
        )


def local_dataset_ids() -> list[str]:
    """Ids of every dataset under the root (folders holding data/metadata.json)."""
    root = datasets_root()
    if not root.is_dir():
        return []
    return sorted(
        str(p.parent.parent.relative_to(root)) for p in root.glob("**/data/metadata.json")
    )


def read_metadata(dataset_id: str) -> dict[str, Any]:
    """The dataset-level metadata (spaces and env spec as parsed JSON)."""
    require_local(dataset_id)
    meta = json.loads((dataset_path(dataset_id) / "data" / "metadata.json").read_text())
    for key in ("env_spec", "observation_space", "action_space"):
        if isinstance(meta.get(key), str):
            meta[key] = json.loads(meta[key])
    return meta


def load(dataset_id: str) -> Any:
    """`minari.load_dataset` for a local dataset (never downloads)."""
    import minari

    require_local(dataset_id)
    try:
        return minari.load_dataset(dataset_id, download=False)
    except Exception as exc:  # corrupt files, a newer format, ...
        raise WsdiagError(f"cannot read dataset '{dataset_id}': {exc}") from exc


def read_episodes(dataset_id: str) -> list[Episode]:
    """Every episode of a local dataset, in order, with its metadata; Dict observations are
    flattened as `wsdiag.envs.make_env` flattens them (`flatten_batch`)."""
    dataset = load(dataset_id)
    n = dataset.total_episodes
    metas = list(dataset.storage.get_episode_metadata(range(n)))
    return [
        Episode(
            _flat(ep.observations),
            np.asarray(ep.actions),
            np.asarray(ep.rewards),
            np.asarray(ep.terminations),
            np.asarray(ep.truncations),
            {k: _plain(v) for k, v in meta.items() if k not in ("id", "total_steps")},
        )
        for ep, meta in zip(dataset.iterate_episodes(), metas, strict=True)
    ]


def _flat(observations: Any) -> np.ndarray:
    if isinstance(observations, Mapping):
        return flatten_batch(observations)
    return np.asarray(observations)


def flat_shape(space: Mapping[str, Any]) -> tuple[int, ...]:
    """The shape of observations of a serialised space once flattened: a Box's own shape, a Dict
    of Box parts (D,) with D the sum of their sizes."""
    if space.get("type") == "Dict":
        parts = space["subspaces"].values()
        if any(p.get("type") != "Box" for p in parts):
            raise WsdiagError("a dataset Dict observation with non-Box parts cannot be flattened")
        return (sum(int(np.prod(p["shape"])) for p in parts),)
    return tuple(space["shape"])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def write_dataset(
    dataset_id: str,
    episodes: list[Episode],
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    observation_space: gym.spaces.Space | None = None,
    algorithm_name: str,
    ref_min_score: float | None = None,
    ref_max_score: float | None = None,
    description: str = "",
) -> None:
    """Create a Minari dataset (HDF5 storage) from episodes, with per-episode metadata; the env
    spec records `env_kwargs`, and `observation_space` (default: the env's) is what the episodes
    hold (a flattened Dict observation's Box)."""
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    if is_local(dataset_id):
        raise WsdiagError(f"dataset '{dataset_id}' already exists in {datasets_root()}")
    if not episodes:
        raise WsdiagError("no episodes to write")
    buffers = [
        EpisodeBuffer(
            id=i,
            seed=ep.metadata.get("seed"),
            observations=ep.observations,
            actions=ep.actions,
            rewards=ep.rewards,
            terminations=ep.terminations,
            truncations=ep.truncations,
            infos={},
        )
        for i, ep in enumerate(episodes)
    ]
    refs: dict[str, float] = {}
    if ref_max_score is not None:  # Minari keeps ref_min only together with ref_max
        refs = {"ref_max_score": float(ref_max_score)}
        if ref_min_score is not None:
            refs["ref_min_score"] = float(ref_min_score)
    from wsdiag import __version__

    spec = gym.spec(env_id)
    if env_kwargs:
        spec = dataclasses.replace(spec, kwargs={**spec.kwargs, **env_kwargs})

    with warnings.catch_warnings():  # Minari nags about author and e-mail fields
        warnings.simplefilter("ignore", UserWarning)
        dataset = minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            env=spec,
            eval_env=spec,
            observation_space=observation_space,
            algorithm_name=algorithm_name,
            code_permalink=f"wsdiag {__version__}",
            description=description or None,
            data_format="hdf5",
            **refs,
        )
    dataset.storage.update_episode_metadata(
        [{k: v for k, v in ep.metadata.items() if v is not None} for ep in episodes],
        episode_indices=range(len(episodes)),
    )


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = sum_{k>=t} gamma^(k-t) r_k within one episode (Cal-QL's Monte-Carlo return-to-go)."""
    r = np.asarray(rewards, np.float64)
    return lfilter([1.0], [1.0, -gamma], r[::-1])[::-1].astype(np.float32)


def to_transitions(
    episodes: list[Episode], low: np.ndarray, high: np.ndarray, gamma: float
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Buffer-ready arrays (actions rescaled to [-1, 1], mc_return) and per-transition labels."""
    obs = np.concatenate([ep.observations[:-1] for ep in episodes]).astype(np.float32, copy=False)
    next_obs = np.concatenate([ep.observations[1:] for ep in episodes]).astype(
        np.float32, copy=False
    )
    actions = np.concatenate([ep.actions for ep in episodes]).astype(np.float32)
    actions = np.clip(2.0 * (actions - low) / (high - low) - 1.0, -1.0, 1.0).astype(np.float32)
    arrays = {
        "obs": obs,
        "actions": actions,
        "rewards": np.concatenate([ep.rewards for ep in episodes]).astype(np.float32),
        "next_obs": next_obs,
        "terminated": np.concatenate([ep.terminations for ep in episodes]).astype(np.float32),
        "truncated": np.concatenate([ep.truncations for ep in episodes]).astype(np.float32),
        "mc_return": np.concatenate([discounted_returns(ep.rewards, gamma) for ep in episodes]),
    }
    labels = np.concatenate(
        [np.full(len(ep), str(ep.metadata.get("label", "dataset"))) for ep in episodes]
    )
    return arrays, labels
