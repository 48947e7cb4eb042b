"""wsdiag's own zip archives (npz files, torch.save files) read as data of bounded size.

They are checked from their index and headers before a byte of data is read: wsdiag and
torch.save store their members uncompressed, so members that inflate by more than
MAX_INFLATION in all are refused as a zip bomb, whatever bound the reader has; the sizes the
npy headers declare are checked against the reader's bound and the machine's memory
(`wsdiag.limits`). `read_npz` is the one reader of wsdiag's npz files (replay buffers, probe
files, probe sets); `check_torch_file` comes before every torch.load of a file.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Collection
from pathlib import Path

import numpy as np

from wsdiag.errors import WsdiagError
from wsdiag.limits import ON_MACHINE, human_bytes, tighter

MAX_INFLATION = 1 << 20  # bytes a zip's members may inflate, in all, beyond what they store
MAX_MEMBERS = 10_000  # members of a zip (an agent.pt holds about a hundred)
# Probe files (probes/step_<n>.npz, probes/probe_set.npz) hold a few dozen arrays of
# `probes.states` rows (256 by default: about 100 KiB in all, under 2 MiB for a 376-dim
# Humanoid); this cap leaves room for probe sets a hundred times that size.
PROBE_FILE_BYTES = 256 << 20
PROBE_FILE_WHY = "a probe file may hold"


# ----------------------------------------------------------------------------- zip archives


def check_members(archive: zipfile.ZipFile, where: str) -> list[zipfile.ZipInfo]:
    """The members of a zip that wsdiag or torch.save wrote (`where`: the error's prefix):
    refused when there are more than MAX_MEMBERS or they inflate, all together, by more than
    MAX_INFLATION beyond the bytes they store (a zip bomb)."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise WsdiagError(f"{where}: it holds {len(members):,} members, more than {MAX_MEMBERS:,}")
    declared = sum(i.file_size for i in members)
    stored = sum(i.compress_size for i in members)
    if declared > stored + MAX_INFLATION:
        most = max(members, key=lambda i: i.file_size - i.compress_size)
        raise WsdiagError(
            f"{where}: its members inflate from {human_bytes(stored)} to "
            f"{human_bytes(declared)} (member {most.filename}: {human_bytes(most.file_size)} "
            f"from {human_bytes(most.compress_size)}); these files are written uncompressed "
            "(a zip bomb?)"
        )
    return members


def check_torch_file(
    source: Path | bytes, where: str, bound: int | None = None, why: str = ON_MACHINE
) -> None:
    """Before torch.load of a file or its bytes (`where`: the error's prefix): its size within
    `bound` (`why` says where it comes from) and memory_limit(), and, when it is a zip
    (torch.save's format since PyTorch 1.6, which stores tensors uncompressed), no member that
    inflates (`check_members`)."""
    try:
        size = source.stat().st_size if isinstance(source, Path) else len(source)
        limit, why = tighter(bound, why)
        if size > limit:
            raise WsdiagError(
                f"{where}: it is {human_bytes(size)}, more than the {human_bytes(limit)} {why}"
            )
        handle = source if isinstance(source, Path) else io.BytesIO(source)
        if zipfile.is_zipfile(handle):
            with zipfile.ZipFile(handle) as archive:
                check_members(archive, where)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise WsdiagError(f"{where}: {first_line(exc)}") from exc


def npz_keys(path: Path, what: str) -> list[str]:
    """Names of the arrays in an npz file, from its index alone (`what`: the file's kind, for
    errors)."""
    where = f"cannot read {what} {path}"
    try:
        with zipfile.ZipFile(path) as archive:
            return [_array_name(info, where) for info in check_members(archive, where)]
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise WsdiagError(f"{where}: {first_line(exc)}") from exc


def read_npz(
    path: Path,
    what: str,
    bound: int,
    why: str,
    keys: Collection[str] | None = None,
    required: Collection[str] = (),
) -> dict[str, np.ndarray]:
    """The arrays of an npz file written by np.savez (only `keys` when given, those present),
    checked before any data is read: every member an .npy array (its header read alone) of a
    dtype without Python objects (nothing is unpickled) whose shape and dtype account for the
    member's declared size exactly, none inflating (`check_members`), and the bytes they all
    declare within `bound` (`why` says where it comes from) and memory_limit(). `what` names
    the file's kind; every refusal is a WsdiagError "cannot read <what> <path>: ...". The
    arrays named in `required` must be there."""
    where = f"cannot read {what} {path}"
    try:
        with zipfile.ZipFile(path) as archive:
            members = check_members(archive, where)
            declared = {_array_name(i, where): _declared(archive, i, where) for i in members}
            _check_total(declared, bound, why, where)
            missing = [k for k in required if k not in declared]
            if missing:
                raise WsdiagError(f"{where}: it has no array '{missing[0]}'")
            wanted = [k for k in declared if keys is None or k in keys]
            return {k: _read_array(archive, k) for k in wanted}
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, RuntimeError) as exc:
        raise WsdiagError(f"{where}: {first_line(exc)}") from exc


def _array_name(info: zipfile.ZipInfo, where: str) -> str:
    if not info.filename.endswith(".npy"):
        raise WsdiagError(f"{where}: member {info.filename} is not an array (.npy)")
    return info.filename.removesuffix(".npy")


def _declared(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> tuple[str, int]:
    """(shape and dtype as text, bytes) from a member's .npy header, checked against the
    member's declared size."""
    name = info.filename.removesuffix(".npy")
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise WsdiagError(f"{where}: array '{name}' has .npy format {version}, not 1.0 or 2.0")
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(fh)
        header = fh.tell()
    text = f"shape {shape} {dtype}"
    if dtype.hasobject:
        raise WsdiagError(f"{where}: array '{name}' holds Python objects ({text}), never unpickled")
    if dtype.itemsize == 0:
        raise WsdiagError(f"{where}: array '{name}' has items of no size ({text})")
    nbytes = math.prod(shape) * dtype.itemsize
    if header + nbytes != info.file_size:
        raise WsdiagError(
            f"{where}: array '{name}' declares {text} ({human_bytes(nbytes)}) but its member "
            f"holds {human_bytes(info.file_size - header)}"
        )
    return text, nbytes


def _check_total(declared: dict[str, tuple[str, int]], bound: int, why: str, where: str) -> None:
    total = sum(nbytes for _, nbytes in declared.values())
    limit, why = tighter(bound, why)
    if total > limit:
        name, (text, _) = max(declared.items(), key=lambda item: item[1][1])
        raise WsdiagError(
            f"{where}: its arrays declare {human_bytes(total)} (the largest, '{name}': {text}), "
            f"more than the {human_bytes(limit)} {why}"
        )


def _read_array(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(f"{name}.npy") as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
