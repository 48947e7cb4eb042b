"""Versions and provenance recorded with every run and checkpoint."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_PACKAGES = ("wsdiag", "torch", "gymnasium", "mujoco", "numpy", "minari")


@cache
def versions() -> dict[str, str]:
    """Installed versions of wsdiag and the libraries that shape its results."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@cache
def cpu() -> dict[str, str]:
    """The processor, which with the versions decides a CPU run's floating-point results: its
    model (/proc/cpuinfo where there is one), architecture and torch's kernel level
    (`ATEN_CPU_CAPABILITY`, e.g. AVX512 or AVX2). Runs are step-for-step repeatable where these
    and the versions agree, and only there."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return {"model": model, "machine": platform.machine(),
            "torch_capability": str(torch.backends.cpu.get_cpu_capability())}  # fmt: skip


@cache
def git_sha() -> str | None:
    """The commit of the wsdiag source tree, when it is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
