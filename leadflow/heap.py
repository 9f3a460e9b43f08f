"""The C heap of a long-running leadflow process: at most two glibc malloc arenas.

glibc gives each thread that allocates an arena of its own, up to eight per core, and keeps the
memory freed in each for that arena. A worker has many threads (the activity executor, sdk-core's
runtime), and what evicted workflow runs freed stayed stranded across those arenas: in
`bench/scale.py --n 10000` the worker's heap held 113 MB free at the end, its RSS still growing
after the workflow cache was full; with two arenas it held about half of that.
This is glibc's own tunable (the GNU C Library manual, "Memory Allocation Tunables",
glibc.malloc.arena_max; mallopt(3), M_ARENA_MAX), the setting MALLOC_ARENA_MAX=2 makes. An
operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES wins; elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import os

ARENAS = 2
M_ARENA_MAX = -8  # <malloc.h>


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Call before the process starts its threads. True when glibc took the limit."""
    if os.environ.get("MALLOC_ARENA_MAX") or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
