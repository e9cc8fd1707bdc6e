"""The CPU a bench process spends in Python's garbage collector, counted by gc callbacks: GC_S[g] seconds and
GC_RUNS[g] collections of generation g (2: the full ones, which walk every object not frozen)."""

from __future__ import annotations

import gc
import time

GC_S = [0.0, 0.0, 0.0]
GC_RUNS = [0, 0, 0]
_started = [0.0]


def _timed(phase: str, info: dict) -> None:
    if phase == "start":
        _started[0] = time.process_time()
    else:
        GC_S[info["generation"]] += time.process_time() - _started[0]
        GC_RUNS[info["generation"]] += 1


def count_gc() -> None:
    """From now on, every collection of this process is counted."""
    if _timed not in gc.callbacks:
        gc.callbacks.append(_timed)
