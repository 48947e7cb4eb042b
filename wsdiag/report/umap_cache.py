"""umap-learn with the numba code of its fit cached on disk.

UMAP's first fit in a process compiles numba functions (smooth_knn_dist, the fuzzy membership
strengths, the layout's epoch; 10-30 s on two cores), and umap-learn declares them without
`cache=True`, so every process compiled them again. `load_umap` turns numba's on-disk cache on
for them before their first call (`Dispatcher.enable_caching`, what `cache=True` does), so
that the compiled code of one report is loaded by the next in a few milliseconds. Numba keeps the
files beside umap's sources when that folder is writable, else in the user's cache folder
(`NUMBA_CACHE_DIR` overrides both); an upgrade of umap-learn invalidates them.

Only the serial layout epoch is cached: its parallel twin shares its Python function, hence its
cache file names, and `embed` always seeds UMAP, which makes umap-learn use the serial one.
"""

from __future__ import annotations

import contextlib
import functools
from types import ModuleType

# (module, name) of the numba dispatchers a seeded euclidean fit on a precomputed knn compiles
CACHED = (
    ("umap.umap_", "smooth_knn_dist"),
    ("umap.umap_", "compute_membership_strengths"),
    ("umap.layouts", "_nb_optimize_layout_euclidean_single_epoch"),
    ("umap.layouts", "clip"),
)


def cached_dispatchers() -> list[object]:
    """The dispatchers of CACHED that this umap-learn has (names move between versions)."""
    import importlib

    found = []
    for module, name in CACHED:
        dispatcher = getattr(importlib.import_module(module), name, None)
        if hasattr(dispatcher, "enable_caching"):
            found.append(dispatcher)
    return found


@functools.cache
def load_umap() -> ModuleType:
    """`import umap`, with the on-disk cache on for CACHED (ImportError without umap-learn)."""
    import umap

    for dispatcher in cached_dispatchers():
        # RuntimeError: no writable cache folder; the code is then compiled in memory, as before
        with contextlib.suppress(RuntimeError):
            dispatcher.enable_caching()
    return umap


def clear_cache() -> int:
    """Empty the on-disk cache of CACHED, so that the next process compiles again (a cold
    start, as `make bench` measures it); returns how many functions' caches were emptied."""
    load_umap()
    emptied = 0
    for dispatcher in cached_dispatchers():
        cache = getattr(dispatcher, "_cache", None)
        if hasattr(cache, "flush"):
            cache.flush()
            emptied += 1
    return emptied
