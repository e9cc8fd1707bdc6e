"""Find the next candle where a vectorised condition holds, looking ahead in growing windows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FIRST_WINDOW = 64
MAX_WINDOW = 1 << 16


def first_true(cond: Callable[[int, int], np.ndarray], start: int, n: int) -> int:
    """The first j in [start, n) with cond(lo, hi)[j - lo] true, checking [lo, hi) windows that grow ×4; n if none.

    Work is proportional to the distance skipped, so a whole backtest scans each candle about once per state.
    """
    lo, size = start, FIRST_WINDOW
    while lo < n:
        hi = min(n, lo + size)
        hit = cond(lo, hi)
        if hit.any():
            return lo + int(hit.argmax())
        lo, size = hi, min(size * 4, MAX_WINDOW)
    return n
