"""The benchmarks' one timing helper (each bench script imports it from its own folder)."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeat: int = 3, *, stat=statistics.median, clock=time.perf_counter):
    """(``stat`` of ``repeat`` timings of ``fn()`` in seconds of ``clock``, the last result):
    the median wall-clock time by default; ``stat=min`` for the best, ``clock=time.process_time``
    for this process's CPU time."""
    times, out = [], None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        times.append(clock() - t0)
    return stat(times), out


def best(fn, repeat: int = 3):
    """(the least wall-clock time (s) of ``repeat`` calls of ``fn()``, the last result)."""
    return timed(fn, repeat, stat=min)


def once(fn):
    """(the wall-clock time (s) of one call of ``fn()``, its result)."""
    return timed(fn, 1)


def cpu_best(fn, repeat: int = 3) -> float:
    """The least CPU time of this process (s) over ``repeat`` calls of ``fn()``."""
    return timed(fn, repeat, stat=min, clock=time.process_time)[0]
