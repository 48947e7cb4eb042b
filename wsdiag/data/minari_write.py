"""Writing a Minari dataset so that it appears under its id complete or not at all.

`NewDataset(id)` checks the id and the dataset root before any work (a well-formed id inside
the root that names no existing folder; a root where a folder can be made), then Minari writes
the dataset into a hidden staging folder beside the datasets, `.staging-<pid>-<random>`; one rename
moves it under its id. A kill at any point leaves either no dataset or a complete one; the
staging folders of processes that are gone are removed by the next write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from wsdiag.data.minari_io import Episode, datasets_root
from wsdiag.errors import WsdiagError

STAGING_PREFIX = ".staging-"
NAMESPACE_FILE = "namespace_metadata.json"  # Minari's, one per namespace folder
ID_PATTERN = re.compile(r"(?:[A-Za-z0-9][\w-]*/)*[A-Za-z0-9][\w-]*-v\d+", re.ASCII)


def check_dataset_id(dataset_id: str) -> None:
    """A Minari id, `(namespace/)name-v<version>` (Minari's own pattern), whose every part
    starts with a letter or a digit (so no `..`, no absolute path, no hidden folder)."""
    from minari.dataset.minari_dataset import DATASET_ID_RE

    if not (
        len(dataset_id) <= 200
        and ID_PATTERN.fullmatch(dataset_id)
        and DATASET_ID_RE.fullmatch(dataset_id)
    ):
        raise WsdiagError(
            f"dataset id {dataset_id!r} is not of the form (namespace/)name-v<version>: parts of "
            "letters, digits, '_' and '-' that start with a letter or digit, namespaces of two "
            "characters or more"
        )


class NewDataset:
    """A dataset about to be written under `dataset_id`; use as a context manager around the
    work that makes its episodes, then call `write`."""

    def __init__(self, dataset_id: str) -> None:
        check_dataset_id(dataset_id)
        self.dataset_id, self.root = dataset_id, datasets_root()
        if (self.root / dataset_id).exists():
            raise WsdiagError(f"dataset '{dataset_id}' already exists in {self.root}")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _remove_stale_staging(self.root)
            prefix = f"{STAGING_PREFIX}{os.getpid()}-"
            self.staging = Path(tempfile.mkdtemp(prefix=prefix, dir=self.root))
        except OSError as exc:
            raise WsdiagError(f"cannot write datasets in {self.root}: {exc.strerror}") from None

    def __enter__(self) -> NewDataset:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def write(
        self,
        episodes: list[Episode],
        env: EnvSpec | Mapping[str, Any],
        *,
        observation_space: gym.spaces.Space | None = None,
        algorithm_name: str,
        ref_min_score: float | None = None,
        ref_max_score: float | None = None,
        description: str = "",
    ) -> Path:
        """Write the episodes with their metadata (Minari's HDF5 format) and move the dataset
        under its id. `env` is the user's environment (its spec; `observation_space`, default
        the env's, is what the episodes hold, a flattened Dict observation's Box) or the
        parsed metadata of the dataset the episodes come from, whose spaces and env spec are
        copied as data: nothing a dataset names is ever made."""
        if not episodes:
            raise WsdiagError("no episodes to write")
        refs = _refs(ref_min_score, ref_max_score)
        if isinstance(env, EnvSpec):
            where = {"env": env, "eval_env": env, "observation_space": observation_space, **refs}
        else:
            from minari.serialization import deserialize_space

            where = {k: deserialize_space(env[k]) for k in ("observation_space", "action_space")}
        with _datasets_root(self.staging):
            _create(self.dataset_id, episodes, where, algorithm_name, description)
        if not isinstance(env, EnvSpec):  # Minari keeps refs only with an env spec: add both
            specs = {k: json.dumps(env[k]) for k in ("env_spec", "eval_env_spec") if env.get(k)}
            _update_metadata(self.staging / self.dataset_id, {**specs, **refs})
        return self._publish()

    def _publish(self) -> Path:
        """Copy the namespace files that the root lacks, then rename the dataset into place."""
        parts = Path(self.dataset_id).parts
        for depth in range(1, len(parts)):
            namespace = Path(*parts[:depth])
            (self.root / namespace).mkdir(exist_ok=True)
            made, kept = self.staging / namespace / NAMESPACE_FILE, self.root / namespace
            if made.is_file() and not (kept / NAMESPACE_FILE).exists():
                shutil.copyfile(made, kept / NAMESPACE_FILE)
        target = self.root / self.dataset_id
        try:
            os.rename(self.staging / self.dataset_id, target)
        except OSError as exc:  # another process wrote the same id meanwhile
            raise WsdiagError(f"cannot write dataset '{self.dataset_id}': {exc}") from None
        return target


def _create(
    dataset_id: str,
    episodes: list[Episode],
    where: Mapping[str, Any],
    algorithm_name: str,
    description: str,
) -> None:
    """`minari.create_dataset_from_buffers` with `where` (env and spaces), then the episodes'
    metadata."""
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    from wsdiag import __version__

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
    with warnings.catch_warnings():  # Minari nags about author and e-mail fields
        warnings.simplefilter("ignore", UserWarning)
        dataset = minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            **where,
            algorithm_name=algorithm_name,
            code_permalink=f"wsdiag {__version__}",
            description=description or None,
            data_format="hdf5",
        )
    dataset.storage.update_episode_metadata(
        [{k: v for k, v in ep.metadata.items() if v is not None} for ep in episodes],
        episode_indices=range(len(episodes)),
    )


def _refs(ref_min_score: float | None, ref_max_score: float | None) -> dict[str, float]:
    """The reference scores to record: ref_min only together with ref_max, as Minari keeps."""
    if ref_max_score is None:
        return {}
    refs = {"ref_max_score": float(ref_max_score)}
    if ref_min_score is not None:
        refs["ref_min_score"] = float(ref_min_score)
    return refs


def _update_metadata(folder: Path, updates: Mapping[str, Any]) -> None:
    """Set keys of a staged dataset's metadata.json."""
    path = folder / "data" / "metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **updates}))


@contextmanager
def _datasets_root(path: Path) -> Iterator[None]:
    """Minari reads its dataset root from MINARI_DATASETS_PATH: point it at `path` meanwhile."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if before is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def _remove_stale_staging(root: Path) -> None:
    """Remove the staging folders of processes that no longer run (killed writes)."""
    for folder in root.glob(f"{STAGING_PREFIX}*"):
        pid = folder.name.removeprefix(STAGING_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
