"""A worker process keeps at most two malloc arenas however many threads allocate (issue 16: a
long-running worker's RSS). Checked in a fresh process, as `leadflow worker` starts one: the
limit is taken before any thread runs, then eight threads allocate, and glibc's own report
(malloc_info(3)) counts the arenas."""

from __future__ import annotations

import os
import subprocess
import sys

from leadflow.heap import ARENAS

PROBE = """
import ctypes, os, sys, tempfile, threading
from leadflow.heap import limit_malloc_arenas
took = limit_malloc_arenas() if sys.argv[1] == "limit" else None
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
gate = threading.Barrier(8)
def allocate():
    gate.wait()  # all eight alive at once: each new thread is a candidate for an arena
    libc.malloc(4096)
threads = [threading.Thread(target=allocate) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = tempfile.mktemp()
out = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, out)
libc.fclose(out)
print(took, open(path).read().count("<heap nr="))
os.unlink(path)
"""


def arenas(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          check=True, env=env)
    took, count = done.stdout.split()
    return took, int(count)


def test_a_worker_process_keeps_two_arenas_however_many_threads_allocate() -> None:
    assert arenas("limit") == ("True", ARENAS)
    _, unlimited = arenas("none")
    assert unlimited > ARENAS  # glibc's default: an arena per allocating thread, up to 8 per core


def test_an_operators_malloc_arena_max_wins() -> None:
    env = {**os.environ, "MALLOC_ARENA_MAX": "3"}
    assert arenas("limit", env) == ("False", 3)
