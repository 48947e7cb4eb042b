"""Minari datasets on local disk: where they are, which exist, episodes as transitions.

Nothing here touches the network: a dataset that is not under the local root is a clear error.
Reading is `minari_read` (data, never code), writing `minari_write` (complete or absent).
Datasets store actions in the environment's own units; `to_transitions` rescales them to the
[-1, 1] box the agents use. Each episode's metadata names the policy that produced it and its
quality label (`expert`, `random`, `non-expert`, ...), so probes can split on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import lfilter

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
    """Ids of every dataset under the root (folders holding data/metadata.json), but those
    under hidden folders (a dataset being written)."""
    root = datasets_root()
    if not root.is_dir():
        return []
    ids = (p.parent.parent.relative_to(root) for p in root.glob("**/data/metadata.json"))
    return sorted(str(i) for i in ids if not any(part.startswith(".") for part in i.parts))


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
