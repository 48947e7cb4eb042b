"""Keep freed heap memory in the process (glibc's `M_TOP_PAD`): opt in, off by default.

A CQL or Cal-QL update allocates about ten 16 MB activation and gradient tensors. glibc serves
them from the heap and, once they are freed, returns the top of the heap to the system, so the
next update faults the same pages in again (docs/performance.md, "CQL and Cal-QL"). Raising the
heap's top padding keeps up to that many freed bytes in the process instead. The setting is
process-wide, so it belongs to whoever starts the process, never to an agent:

    from wsdiag.allocator import pad_heap
    pad_heap()  # before training; the same as MALLOC_TOP_PAD_=536870912 in the environment

Nothing in wsdiag calls it: whether training should is still to be measured. Elsewhere than
glibc (macOS, Windows, musl) it does nothing and says so.
"""

from __future__ import annotations

import ctypes
import sys

M_TOP_PAD = -2  # mallopt's parameter number in glibc's <malloc.h>
TOP_PAD = 512 << 20  # bytes: the 512 MiB of docs/performance.md's measurement
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
