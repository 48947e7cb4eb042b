"""Sizes that a config or a file declares, checked against the machine before anything is
allocated or read.

A config can ask for more memory than the machine has (`buffer_size = 1e15`, a 60,000-wide
network); a crafted file can declare far more than it holds (`wsdiag.safe_files`). Every such
size is checked against the machine here first, so that bad input is one clear line instead of
a MemoryError, a swap storm or minutes of work.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence

from wsdiag.errors import WsdiagError

MEMORY_SHARE = 0.5  # one allocation may take at most this share of the machine's memory
ON_MACHINE = "allowed on this machine"  # the reason given for memory_limit()


def physical_memory() -> int:
    """Bytes of memory on this machine (8 GiB where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def memory_limit() -> int:
    """The most bytes one declared size may ask for: MEMORY_SHARE of physical memory."""
    return int(MEMORY_SHARE * physical_memory())


def check_allocation(what: str, nbytes: float, limit: int | None = None) -> None:
    """Refuse `what` when it needs more than `limit` bytes (default: `memory_limit()`)."""
    limit = memory_limit() if limit is None else limit
    if nbytes > limit:
        raise WsdiagError(
            f"{what} needs {human_bytes(nbytes)}, more than the {human_bytes(limit)} allowed "
            f"on this machine"
        )


def tighter(bound: int | None, why: str) -> tuple[int, str]:
    """`bound` and where it comes from, or memory_limit() and ON_MACHINE where that is lower."""
    machine = memory_limit()
    return (bound, why) if bound is not None and bound <= machine else (machine, ON_MACHINE)


def mlp_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP with layer widths `sizes` (input, hidden..., output):
    sum_i (n_i + 1) n_{i+1}."""
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


def human_bytes(nbytes: float) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
