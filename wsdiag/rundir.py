"""The run directory: its file names, the phase schedule a config implies, and its readers.

    <run>/config.toml        the resolved config, as run
    <run>/meta.json          versions, git SHA, seed, host, command, device, cpu
    <run>/metrics.parquet    long form: step, phase, key, value
    <run>/events.jsonl       one JSON object per line
    <run>/probes/            step_<n>.npz / .json, probe_set.npz, frozen_agent.pt
    <run>/checkpoints/       pretrained/, step_<n>/, latest -> the newest complete one
    <run>/tensorboard/       pretrain/, online/: event files ([log] tensorboard = true)
    <checkpoint>/            agent.pt, state.json, meta.json, buffer.npz (optional)

Steps of the online stage count from 0 at the warm start; pretraining has its own counter. The
online phases are warmup [0, w), freeze [w, w + f) and finetune [w + f, T) with
w = warmstart.warmup_steps, f = warmstart.freeze_policy_steps, T = finetune.steps; empty phases
are dropped. `training` writes run directories; `analysis` and `report` read them through here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from wsdiag.config import Config
from wsdiag.core import PRETRAIN, Actor, Phase
from wsdiag.errors import WsdiagError

CONFIG_FILE, META_FILE = "config.toml", "meta.json"
METRICS_FILE, EVENTS_FILE = "metrics.parquet", "events.jsonl"
BRANCH = "branch"  # checkpoints/branch: the state counterfactual runs start from (Checkpointer)
LOCK_FILE = ".lock"  # held (flock) by the one process that trains in a run directory
PROBES_DIR, CHECKPOINTS_DIR = "probes", "checkpoints"
PROBE_SET_FILE = "probe_set.npz"  # the behavioural probe set, under probes/
FROZEN_FILE = "frozen_agent.pt"  # the networks of the frozen copy, under probes/
AGENT_FILE, STATE_FILE, BUFFER_FILE = "agent.pt", "state.json", "buffer.npz"
PRETRAINED, LATEST = "pretrained", "latest"
TENSORBOARD_DIR = "tensorboard"  # event files of the metrics, one folder per stage
SWEEP_FILE, SWEEP_RUNS = "sweep.json", "runs"  # a sweep folder: <root>/sweep.json, <root>/runs/
COLUMNS = ("step", "phase", "key", "value")
RETURN_BELOW = "return_below"  # the event (and stop reason) of a run stopped by eval.stop_below


# ----------------------------------------------------------------------------- phase schedule


def pretrain_phases(config: Config, offline: bool) -> list[Phase]:
    """Online pretraining: `learning_starts` random steps, then the agent acts and learns;
    offline pretraining: `steps` gradient steps on the dataset, nobody acting."""
    steps = config.pretrain.steps
    if offline:
        return [
            Phase(PRETRAIN, start=0, end=steps, actor=Actor.NONE, update_critic=True,
                  update_actor=True),
        ]  # fmt: skip
    start = min(config.pretrain.learning_starts, steps)
    phases = [
        Phase(PRETRAIN, start=0, end=start, actor=Actor.RANDOM, update_critic=False,
              update_actor=False),
        Phase(PRETRAIN, start=start, end=steps, actor=Actor.AGENT, update_critic=True,
              update_actor=True),
    ]  # fmt: skip
    return [p for p in phases if p.end > p.start]


def online_phases(config: Config) -> list[Phase]:
    """warmup -> freeze -> finetune (see module docstring), empty phases dropped."""
    ws = config.warmstart
    w, f = ws.warmup_steps, ws.warmup_steps + ws.freeze_policy_steps
    warmup_actor = Actor.RANDOM if ws.warmup_policy == "random" else Actor.PRETRAINED
    phases = [
        Phase("warmup", start=0, end=w, actor=warmup_actor,
              update_critic=ws.train_critic_during_warmup, update_actor=False),
        Phase("freeze", start=w, end=f, actor=Actor.AGENT, update_critic=True,
              update_actor=False),
        Phase("finetune", start=f, end=config.finetune.steps, actor=Actor.AGENT,
              update_critic=True, update_actor=True),
    ]  # fmt: skip
    return [p for p in phases if p.end > p.start]


# ----------------------------------------------------------------------------- readers


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """The long-form metrics table of a run (columns step, phase, key, value); empty if none."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own types for torn or foreign files
        raise WsdiagError(f"cannot read {path}: not a metrics table ({exc})") from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise WsdiagError(f"cannot read {path}: no column {missing[0]!r}")
    return frame


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """The events of a run, oldest first (a torn line, impossible with atomic writes, is
    skipped rather than fatal)."""
    events = []
    path = Path(run_dir) / EVENTS_FILE
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def is_sweep(path: Path) -> bool:
    return (Path(path) / SWEEP_FILE).is_file()


def expand_sweeps(paths: list[Path]) -> list[Path]:
    """Run directories, with each sweep folder replaced by its fine-tuning runs (sorted)."""
    out: list[Path] = []
    for path in map(Path, paths):
        if is_sweep(path):
            runs = sorted(p for p in (path / SWEEP_RUNS).glob("*") if (p / METRICS_FILE).exists())
            if not runs:
                raise WsdiagError(f"sweep {path} has no finished run yet")
            out += runs
        else:
            out.append(path)
    return out


def is_complete(run_dir: Path) -> bool:
    """True once the run has recorded its `end` event."""
    return any(e.get("event") == "end" for e in read_events(run_dir))


# ----------------------------------------------------------------------------- checkpoints


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory from a checkpoint, a `checkpoints/` folder or a run directory.

    A run directory resolves to its pretrained checkpoint; a `checkpoints/` folder to `latest`;
    a link (`latest`) to the checkpoint it points to, so that the result has its real name.
    """
    path = Path(path)
    if (path / AGENT_FILE).exists():
        return path.resolve() if path.is_symlink() else path
    if (path / CHECKPOINTS_DIR / PRETRAINED / AGENT_FILE).exists():
        return path / CHECKPOINTS_DIR / PRETRAINED
    if (path / LATEST / AGENT_FILE).exists():
        return (path / LATEST).resolve()
    if not path.exists():
        raise WsdiagError(f"checkpoint not found: {path}")
    raise WsdiagError(
        f"no checkpoint in {path} (expected {AGENT_FILE}, {CHECKPOINTS_DIR}/{PRETRAINED}/ or "
        f"{LATEST}/)"
    )


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    link = Path(run_dir) / CHECKPOINTS_DIR / LATEST
    if link.exists() and (link / AGENT_FILE).exists():
        return link.resolve()
    return None
