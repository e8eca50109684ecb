"""Keep the garbage collector's full passes off the objects a long-running process starts with.

The TUI and the daemon build most of their objects at start-up (modules, the ORM's mappers,
Textual's styles and widgets, compiled statements) and keep them until they exit. CPython's
full (generation 2) collection walks every tracked object each time it runs: in the TUI that
was a 130-170 ms stall in the middle of a keystroke's redraw. Frozen objects are left out of
those walks; what the process allocates later is collected as before.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_startup_objects() -> None:
    """Exempt every object alive now from future collections (call once start-up is done)."""
    gc.freeze()


#: Allocations between two young-generation passes in the daemon (CPython's default: 700).
DAEMON_YOUNG_THRESHOLD = 20_000


@contextmanager
def collect_young_less_often(threshold: int = DAEMON_YOUNG_THRESHOLD) -> Iterator[None]:
    """Within the block, let ``threshold`` allocations pass between two young-generation
    collections (the collector's thresholds are the process's: put back after).

    A burst allocates rows, requests and results that live for one group commit (a tenth
    of a second) and are then freed by their reference counts. At CPython's 700 a pass ran
    every few deliveries and walked whatever was still alive, each survivor again in the
    next generation: 21-26 ms of collection per 1,000 deliveries, 6-9 ms at 20,000
    (bench/dispatch_cpu.py --latency-ms 100,300). What it costs is the memory of unreachable
    cycles waiting a little longer: at most this many objects. For the daemon only: the
    TUI's passes happen between keystrokes, where a bigger young generation would be a
    longer pause.
    """
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


#: glibc's mallopt parameter for the number of allocator arenas (malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 1) -> bool:
    """Cap glibc's allocator at ``arenas`` memory pools; True when it took effect.

    glibc gives each thread that allocates a pool of its own (up to 8 per core) and keeps
    what was freed in each. The daemon prepares photos and records results in worker threads,
    so a few large photos left tens of MB stranded per thread: publishing four 48 MP photos
    to 2 Pages + 2 OAs peaked at 232-256 MB with glibc's default, 232 MB with two pools and
    208-212 MB with one (bench/photos.py). One pool costs little here: Python threads take
    turns on the GIL anyway. The same as ``MALLOC_ARENA_MAX=1`` in the environment, which
    must be set before the process starts; call this before any worker thread exists. With
    other C libraries nothing happens.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
