"""Creating a run directory: its name, the resolved config and the provenance of the run."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import torch

from wsdiag.config import Config, dump_config
from wsdiag.errors import WsdiagError
from wsdiag.rundir import CONFIG_FILE, META_FILE
from wsdiag.versions import cpu, git_sha, versions


def resolve_device(name: str) -> str:
    """`auto` -> cuda when available, else cpu; a device this machine lacks is an error."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise WsdiagError(f"device '{name}' requested but CUDA is not available")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise WsdiagError(f"device '{name}': only {torch.cuda.device_count()} CUDA device(s)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise WsdiagError("device 'mps' requested but MPS is not available")
    return name


def device_name(device: str) -> str:
    """The device a resolved name stands for: `cuda` -> `cuda:<current index>`, else itself."""
    if device == "cuda":
        return f"cuda:{torch.cuda.current_device()}"
    return device


def new_run_dir(out: Path, config: Config, exact: Path | None = None) -> Path:
    """`<out>/<name>-seed<seed>`, with -2, -3, ... appended when that exists; or `exact`
    (a sweep's run), which must not exist yet."""
    base = Path(out) / f"{config.name}-seed{config.seed}"
    run_dir, n = base, 1
    if exact is not None:
        run_dir = Path(exact)
        if run_dir.exists():
            raise WsdiagError(f"run directory exists already: {run_dir}")
    while exact is None and run_dir.exists():
        n += 1
        run_dir = base.with_name(f"{base.name}-{n}")
    try:
        run_dir.mkdir(parents=True)
    except OSError as exc:
        raise WsdiagError(f"cannot create run directory {run_dir}: {exc.strerror}") from exc
    return run_dir


def outermost_missing(folder: Path) -> Path | None:
    """The outermost of `folder` and its parents that does not exist yet (None: it exists):
    what making `folder` creates, and what a failed start removes again."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    return missing[-1] if missing else None


def create_run_dir(
    out: Path, config: Config, exact: Path | None = None, device: str = "cpu"
) -> Path:
    """A new run directory holding config.toml (resolved) and meta.json (provenance, with the
    device the run uses: `device`, resolved from the config's by `resolve_device`)."""
    run_dir = new_run_dir(out, config, exact)
    (run_dir / CONFIG_FILE).write_text(dump_config(config))
    meta = {
        "versions": versions(),
        "git_sha": git_sha(),
        "seed": config.seed,
        "device": device_name(device),
        "device_requested": config.device,
        "cpu": cpu(),
        "host": platform.node(),
        "command": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (run_dir / META_FILE).write_text(json.dumps(meta, indent=2))
    return run_dir
