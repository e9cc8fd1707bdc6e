"""A long-running process's garbage collector: its start-up heap set aside, young objects collected less often."""

from __future__ import annotations

import gc

# Young objects collected every 10,000 allocations instead of Python's 700, each older generation after 20 of the
# younger's instead of 10. Reference counting still frees everything acyclic at once; cycles wait a little longer.
# Under chat load (bench/updates.py) the collector's share of the bot's CPU went from ~1.3 s to ~0.3 s per 3,600
# updates; on a quiet close of 10,000 bots on 2 workers (bench/scale.py) from 0.6 s of their 3.9 s to 0.06 s of 2.6.
GC_THRESHOLDS = (10_000, 20, 20)


def settle_heap() -> int:
    """Once a long-running process has started (the bot in any role, a worker, the engine once its bots are
    attached): collect the garbage of start-up, then freeze what survives (gc.freeze), so the collector's full
    collections no longer walk the bots, markets and modules loaded at start-up, which live as long as the process
    (they took a third of a quiet 15m close of 10,000 bots in one process: bench/README.md); and collect young
    objects less often (GC_THRESHOLDS). Objects frozen here that become garbage later are still freed by reference
    counting; only a cycle among them stays. Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return gc.get_freeze_count()
