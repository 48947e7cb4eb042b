"""Keep freed heap memory in the process (glibc's `M_TOP_PAD`) where a run's updates need it.

A CQL or Cal-QL update allocates about ten 16 MB activation and gradient tensors. glibc serves
them from the heap and, once they are freed, returns the top of the heap to the system, so the
next update faults the same pages in again (docs/performance.md, "CQL and Cal-QL"). Raising the
heap's top padding keeps up to that many freed bytes in the process instead. The setting is
process-wide, so it belongs to whoever starts the process, never to an agent:

    from wsdiag.allocator import pad_heap
    pad_heap()  # before training; the same as MALLOC_TOP_PAD_=536870912 in the environment

The processes wsdiag starts for a run (`wsdiag train`, a sweep's workers) call
`pad_heap_unless_set()`, which pads the heap unless `MALLOC_TOP_PAD_` is set in the
environment: on whole pretrainings it removed 93-99% of the page faults and most of the system
time they cost, 1.07-1.36x less CPU time for TD3, SAC, TD3+BC, IQL, CQL and Cal-QL (`python -m
benchmarks.heap_padding`, docs/performance.md), for about 50 MB more resident memory on a
TD3 run. A process keeps up to TOP_PAD bytes of freed heap. Elsewhere than glibc (macOS,
Windows, musl) it does nothing and says so.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TOP_PAD = -2  # mallopt's parameter number in glibc's <malloc.h>
TOP_PAD = 512 << 20  # bytes: the 512 MiB of docs/performance.md's measurement
ENVIRONMENT = "MALLOC_TOP_PAD_"  # glibc's own setting, read when the process starts
_INT_MAX = (1 << 31) - 1  # mallopt takes a C int


def _glibc() -> ctypes.CDLL | None:
    """The running process's C library where it is glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def pad_heap(nbytes: int = TOP_PAD) -> bool:
    """Set glibc's heap top padding to `nbytes` for this process (`mallopt(M_TOP_PAD, nbytes)`).

    True where it was applied; False where the C library is not glibc (nothing changes) or
    refused the value. Child processes do not inherit it: give them `MALLOC_TOP_PAD_`.
    """
    if not 0 <= nbytes <= _INT_MAX:
        raise ValueError(f"heap padding must be between 0 and {_INT_MAX} bytes, got {nbytes}")
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    return libc.mallopt(M_TOP_PAD, nbytes) == 1


def pad_heap_unless_set() -> bool:
    """`pad_heap()` unless the environment sets glibc's own `MALLOC_TOP_PAD_` (the user's
    choice, `MALLOC_TOP_PAD_=0` keeping the default heap); whether this call padded the heap."""
    return ENVIRONMENT not in os.environ and pad_heap()
