"""Reading a Minari dataset as data, never as code.

Minari's own loader rebuilds a dataset's spaces with `gym.make(env_spec)` when its metadata
omits them, and `env_spec` names an entry point: a downloaded dataset could run any function
of any installed module (`subprocess:run`) as soon as it is listed. This reader never imports
or calls anything a dataset names. It parses `data/metadata.json` (bounded in size) and
requires the spaces there, as JSON; it reads `data/main_data.hdf5` with h5py, one episode
group `episode_<i>` at a time, checking each array's declared shape and dtype against the
spaces and the machine's memory before reading it. Only the user's own `[env]` or `--env`
ever chooses an environment; a dataset's `env_spec` is shown as its id, nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from wsdiag.data.minari_io import Episode, dataset_path, require_local
from wsdiag.envs import flatten_batch
from wsdiag.errors import WsdiagError
from wsdiag.limits import check_allocation, human_bytes

METADATA_MAX_BYTES = 16 << 20  # a metadata.json larger than this is not a dataset's
SPACE_KEYS = ("observation_space", "action_space")
STEP_KEYS = ("rewards", "terminations", "truncations")
MAX_SPACE_SIZE = 1 << 20  # numbers in one observation or action


def read_metadata(dataset_id: str) -> dict[str, Any]:
    """The dataset-level metadata with `env_spec`, `eval_env_spec` and the spaces parsed from
    their JSON strings; a dataset without both spaces, of a format other than HDF5, or whose
    metadata is not a JSON object of bounded size is refused."""
    require_local(dataset_id)
    path = dataset_path(dataset_id) / "data" / "metadata.json"
    size = path.stat().st_size
    if size > METADATA_MAX_BYTES:
        raise WsdiagError(
            f"dataset '{dataset_id}': metadata.json holds {human_bytes(size)} "
            f"(at most {human_bytes(METADATA_MAX_BYTES)})"
        )
    try:
        meta = json.loads(path.read_bytes())
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        for key in ("env_spec", "eval_env_spec", *SPACE_KEYS):
            if isinstance(meta.get(key), str):
                meta[key] = json.loads(meta[key])
    except (ValueError, RecursionError) as exc:
        raise WsdiagError(f"dataset '{dataset_id}': unreadable metadata.json ({exc})") from None
    _check_metadata(dataset_id, meta)
    return meta


def _check_metadata(dataset_id: str, meta: dict[str, Any]) -> None:
    for key in SPACE_KEYS:
        if not isinstance(meta.get(key), dict):
            raise WsdiagError(
                f"dataset '{dataset_id}' declares no {key} in its metadata; wsdiag reads the "
                "spaces a dataset declares and never builds its environment to find them"
            )
        _space_shape(dataset_id, meta[key])
    if meta.get("data_format", "hdf5") != "hdf5":
        raise WsdiagError(
            f"dataset '{dataset_id}' is stored as {meta['data_format']!r}; wsdiag reads HDF5 "
            "datasets (Minari's default format)"
        )
    n = meta.get("total_episodes")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise WsdiagError(f"dataset '{dataset_id}': total_episodes is {n!r}, not a count")
    spec = meta.get("env_spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
        raise WsdiagError(f"dataset '{dataset_id}' names no environment id in its env_spec")


def env_id_of(meta: Mapping[str, Any]) -> str:
    """The environment id a dataset's metadata names (a label: nothing is made from it)."""
    return str(meta["env_spec"]["id"])


def flat_shape(space: Mapping[str, Any]) -> tuple[int, ...]:
    """The shape of observations of a serialised space once flattened: a Box's own shape, a Dict
    of Box parts (D,) with D the sum of their sizes."""
    return _space_shape("", space)


def _space_shape(dataset_id: str, space: Mapping[str, Any]) -> tuple[int, ...]:
    where = f"dataset '{dataset_id}': " if dataset_id else ""
    kind = space.get("type")
    if kind == "Dict":
        parts = space.get("subspaces")
        if not isinstance(parts, dict) or any(
            not isinstance(p, dict) or p.get("type") != "Box" for p in parts.values()
        ):
            raise WsdiagError(f"{where}a Dict observation with non-Box parts cannot be flattened")
        return (sum(int(np.prod(_box_shape(where, p))) for p in parts.values()),)
    if kind != "Box":
        raise WsdiagError(f"{where}a {kind!r} space: wsdiag reads Box and Dict-of-Box spaces")
    return _box_shape(where, space)


def _box_shape(where: str, space: Mapping[str, Any]) -> tuple[int, ...]:
    shape = space.get("shape")
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        and np.prod(shape, dtype=np.float64) <= MAX_SPACE_SIZE
    ):
        raise WsdiagError(f"{where}a Box space with shape {shape!r}")
    return tuple(shape)


def read_episodes(dataset_id: str) -> list[Episode]:
    """Every episode of a local dataset, in order, with its metadata (the episode group's
    attributes but `id` and `total_steps`); Dict observations are flattened as
    `wsdiag.envs.make_env` flattens them (`flatten_batch`). Each array's shape is checked
    before it is read: observations [T+1, ...], actions [T, ...], rewards and flags [T], in all
    no more than the machine's memory can hold."""
    import h5py

    meta = read_metadata(dataset_id)
    path = dataset_path(dataset_id) / "data" / "main_data.hdf5"
    try:
        with h5py.File(path, "r") as file:
            groups = [_group(file, f"episode_{i}") for i in range(meta["total_episodes"])]
            check_allocation(f"dataset '{dataset_id}'", sum(_declared_bytes(g) for g in groups))
            return [_episode(dataset_id, g, meta) for g in groups]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise WsdiagError(f"cannot read dataset '{dataset_id}' ({path}): {exc}") from None


def check_episodes(dataset_id: str, meta: Mapping[str, Any]) -> None:
    """The data file opens and holds every episode group the metadata counts (a cheap check
    for a truncated or torn file, before a run starts)."""
    import h5py

    path = dataset_path(dataset_id) / "data" / "main_data.hdf5"
    try:
        with h5py.File(path, "r") as file:
            for i in range(meta["total_episodes"]):
                _group(file, f"episode_{i}")
    except (OSError, KeyError) as exc:
        raise WsdiagError(f"cannot read dataset '{dataset_id}' ({path}): {exc}") from None


def _group(file: Any, name: str) -> Any:
    import h5py

    group = file.get(name)
    if not isinstance(group, h5py.Group):
        raise KeyError(f"no episode group '{name}'")
    return group


def _declared_bytes(node: Any) -> int:
    """Bytes the numeric datasets under an HDF5 node declare (shape x item size)."""
    import h5py

    if isinstance(node, h5py.Dataset):
        return int(np.prod(node.shape, dtype=np.float64)) * node.dtype.itemsize
    if isinstance(node, h5py.Group):
        return sum(_declared_bytes(node[k]) for k in node)
    return 0


def _episode(dataset_id: str, group: Any, meta: Mapping[str, Any]) -> Episode:
    steps = {k: _array(group, k) for k in STEP_KEYS}
    obs = _observations(group["observations"])
    actions = _array(group, "actions")
    t = len(steps["rewards"])
    shapes = {
        "observations": (obs.shape, (t + 1, *flat_shape(meta["observation_space"]))),
        "actions": (actions.shape, (t, *flat_shape(meta["action_space"]))),
        **{k: (v.shape, (t,)) for k, v in steps.items()},
    }
    for key, (got, want) in shapes.items():
        if tuple(got) != want:
            raise WsdiagError(
                f"dataset '{dataset_id}', {group.name}: {key} of shape {tuple(got)}, "
                f"expected {want}"
            )
    info = {k: _plain(v) for k, v in group.attrs.items() if k not in ("id", "total_steps")}
    return Episode(obs, actions, *steps.values(), metadata=info)


def _array(group: Any, key: str) -> np.ndarray:
    return _numeric(group.get(key), f"{group.name}/{key}")


def _numeric(node: Any, name: str) -> np.ndarray:
    """The numbers of an HDF5 dataset (encoded images, strings and references refused)."""
    import h5py

    if not isinstance(node, h5py.Dataset) or node.dtype.kind not in "biuf":
        raise ValueError(f"{name} is not a numeric array")
    return node[()]


def _observations(node: Any) -> np.ndarray:
    import h5py

    if isinstance(node, h5py.Group):  # a Dict observation: one array per key
        return flatten_batch({key: _array(node, key) for key in node})
    return _numeric(node, node.name)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
