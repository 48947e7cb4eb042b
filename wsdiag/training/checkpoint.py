"""Writing checkpoints (the layout and the reader: wsdiag.agents.checkpoint).

A checkpoint is written into a temp directory and renamed into place, then `checkpoints/latest`
is re-pointed at it, so that a crash never leaves a half-written checkpoint that looks complete.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from wsdiag.agents import ActorCritic
from wsdiag.agents.checkpoint import agent_config_dict
from wsdiag.atomic import replace_symlink
from wsdiag.rundir import AGENT_FILE, BUFFER_FILE, LATEST, META_FILE, STATE_FILE
from wsdiag.versions import versions


def save_checkpoint(
    path: Path,
    agent: ActorCritic,
    meta: dict[str, Any],
    loop_state: dict[str, Any],
    buffer: Any | None = None,
) -> Path:
    """Write a complete checkpoint directory at `path` and point `<parent>/latest` at it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    state = agent.state_dict() | {"torch_rng": torch.get_rng_state()}
    torch.save(state, tmp / AGENT_FILE)
    full_meta = {
        "format": 1,
        "algo": agent.algo,
        "agent_config": agent_config_dict(agent.cfg),
        "obs_dim": agent.obs_dim,
        "act_dim": agent.act_dim,
        "versions": versions(),
        **meta,
    }
    (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2, default=str))
    (tmp / STATE_FILE).write_text(json.dumps(loop_state, indent=2))
    if buffer is not None:
        buffer.save(tmp / BUFFER_FILE)
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    replace_symlink(path.parent / LATEST, path.name)
    return path


def prune_checkpoints(folder: Path, prefix: str, keep: int) -> None:
    """Remove all but the `keep` newest `<prefix><step>` checkpoints in `folder`."""
    found = sorted(
        (int(p.name[len(prefix) :]), p)
        for p in Path(folder).glob(f"{prefix}*")
        if p.is_dir() and p.name[len(prefix) :].isdigit()
    )
    for _, p in found[: max(len(found) - keep, 0)]:
        shutil.rmtree(p)
