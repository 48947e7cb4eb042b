"""TensorBoard event files of a run's scalar metrics, written without TensorBoard installed.

Layout: `<folder>/<stage>/events.out.tfevents.wsdiag`, one file per stage (`pretrain`, `online`),
so that TensorBoard shows the two stages as two runs, each on its own step axis (an online step
counts from 0 at the warm start, as in metrics.parquet). Every metric key is a scalar tag as
recorded (`eval/return`, `train/critic_loss`, `probe/...`); the online phases (warmup, freeze,
finetune) share the online stage's steps, so no two of them meet at one (tag, step).

Format: a TFRecord file (per record: uint64 length, uint32 masked CRC-32C of the length, the
bytes, uint32 masked CRC-32C of the bytes; mask(c) = ((c >> 15 | c << 17) + 0xA282EAD8) mod 2^32)
of `tensorflow.Event` protobufs: first one with file_version = "brain.Event:2", then one per row
with wall_time, step and a Summary holding one Value {tag, simple_value}. TensorBoard keeps
simple_value as float32, so an exported value is the parquet's float64 rounded to float32;
metrics.parquet stays the source of truth.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from wsdiag.atomic import atomic_write
from wsdiag.core import ONLINE, PRETRAIN
from wsdiag.errors import WsdiagError
from wsdiag.rundir import COLUMNS, CONFIG_FILE, METRICS_FILE, expand_sweeps, read_metrics

EVENTS_NAME = "events.out.tfevents.wsdiag"  # TensorBoard reads any file with "tfevents" in it
STAGES = (PRETRAIN, ONLINE)


def stage_of(phase: str) -> str:
    """The stage a phase belongs to: `pretrain`, or `online` (warmup, freeze, finetune)."""
    return PRETRAIN if phase == PRETRAIN else ONLINE


# ----------------------------------------------------------------------------- encoding


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1  # CRC-32C (Castagnoli), reflected
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> bytes:
    c = crc32c(data)
    return struct.pack("<I", (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def tfrecord(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, the data, its masked CRC."""
    length = struct.pack("<Q", len(data))
    return length + _masked_crc(length) + data + _masked_crc(data)


def _varint(n: int) -> bytes:
    n &= 0xFFFFFFFFFFFFFFFF  # int64 as protobuf writes it (two's complement)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event(wall_time: float, step: int, body: bytes) -> bytes:
    """Event{1: wall_time (double), 2: step (int64), body}, framed as a TFRecord."""
    head = b"\x09" + struct.pack("<d", wall_time) + b"\x10" + _varint(int(step))
    return tfrecord(head + body)


def version_event(wall_time: float) -> bytes:
    """The first record of every event file: Event.file_version (field 3)."""
    return _event(wall_time, 0, _field(3, b"brain.Event:2"))


def scalar_event(tag: str, value: float, step: int, wall_time: float) -> bytes:
    """Event.summary (5) = Summary{value (1): Value{tag (1), simple_value (2, float32)}}."""
    value_msg = _field(1, tag.encode()) + b"\x15" + struct.pack("<f", value)
    return _event(wall_time, step, _field(5, _field(1, value_msg)))


# ----------------------------------------------------------------------------- files


class EventFiles:
    """The scalar rows of a run as one event file per stage, kept in step with the recorder.

    `add` encodes rows once; `flush` appends what was added since the last flush (TensorBoard
    follows a growing file while it runs), or, after `drop` or at the first flush, rewrites
    every stage's file whole and atomically from the rows held.
    """

    def __init__(self, folder: Path, wall_time: float) -> None:
        self.folder = Path(folder)
        self.wall_time = wall_time  # of the version records
        self.records: list[tuple[int, str, bytes]] = []  # (step, phase, encoded event)
        self.flushed = 0  # records already in the files
        self.rewrite = True

    def add(self, rows: Iterable[tuple[int, str, str, float]], wall_time: float) -> None:
        for step, phase, key, value in rows:
            self.records.append((step, phase, scalar_event(key, value, step, wall_time)))

    def drop(self, phases: Iterable[str], after_step: int) -> None:
        """Drop the records of `phases` after `after_step` (the recorder's truncate rule)."""
        phases = set(phases)
        keep = [r for r in self.records if not (r[1] in phases and r[0] > after_step)]
        if len(keep) != len(self.records):
            self.records, self.rewrite = keep, True

    def _path(self, stage: str) -> Path:
        return self.folder / stage / EVENTS_NAME

    def _encoded(self, records: list[tuple[int, str, bytes]]) -> dict[str, bytes]:
        parts: dict[str, list[bytes]] = {}
        for _, phase, data in records:
            parts.setdefault(stage_of(phase), []).append(data)
        return {stage: b"".join(chunks) for stage, chunks in parts.items()}

    def flush(self) -> None:
        if self.rewrite:
            for stage, data in self._encoded(self.records).items():
                path = self._path(stage)
                path.parent.mkdir(parents=True, exist_ok=True)
                body = version_event(self.wall_time) + data
                atomic_write(path, lambda tmp, body=body: Path(tmp).write_bytes(body))
            stale = set(STAGES) - {stage_of(r[1]) for r in self.records}
            for stage in stale:  # a stage whose rows were all dropped
                self._path(stage).unlink(missing_ok=True)
            self.rewrite = False
        else:
            for stage, data in self._encoded(self.records[self.flushed :]).items():
                path = self._path(stage)
                if not path.exists():  # a stage's first rows
                    path.parent.mkdir(parents=True, exist_ok=True)
                    data = version_event(self.wall_time) + data
                with path.open("ab") as f:
                    f.write(data)
        self.flushed = len(self.records)


def write_event_files(
    rows: Iterable[tuple[int, str, str, float]], folder: Path, wall_time: float
) -> list[Path]:
    """The event files of `rows` (step, phase, key, value) under folder/<stage>/; returns them."""
    files = EventFiles(folder, wall_time)
    files.add(rows, wall_time)
    files.flush()
    return [files._path(s) for s in STAGES if files._path(s).exists()]


def export_runs(paths: Iterable[Path], dest: Path) -> dict[str, list[Path]]:
    """Each run's metrics.parquet (a sweep folder: each of its runs) as event files under
    dest/<run>/<stage>/, <run> the run directory's name (its parent's name put in front when
    two runs share one); the wall time of every event is the parquet file's modification time.
    Returns the files written per run name."""
    runs = expand_sweeps([Path(p) for p in paths])
    written: dict[str, list[Path]] = {}
    for run_dir in runs:
        if not (run_dir / CONFIG_FILE).is_file():
            what = "run directory not found" if not run_dir.exists() else "not a run directory"
            raise WsdiagError(f"{what}: {run_dir} (no {CONFIG_FILE})")
        if not (run_dir / METRICS_FILE).is_file():
            raise WsdiagError(f"{run_dir} has no {METRICS_FILE} yet")
        name = run_dir.name
        if name in written:
            name = f"{run_dir.resolve().parent.name}-{name}"
        frame = read_metrics(run_dir)[list(COLUMNS)]
        rows = frame.itertuples(index=False, name=None)
        mtime = (run_dir / METRICS_FILE).stat().st_mtime
        written[name] = write_event_files(rows, Path(dest) / name, mtime)
    return written
