"""A long-running process sets its start-up heap aside from the cyclic garbage collector, its start-up garbage
collected first."""

from __future__ import annotations

import gc
import weakref

from engine.runtime.heap import settle_heap


class _Node:
    def __init__(self):
        self.other = self


def test_the_start_up_heap_is_frozen_after_its_garbage_is_collected():
    kept, lost = _Node(), _Node()
    gone = weakref.ref(lost)
    del lost  # a cycle nothing refers to: start-up garbage
    try:
        frozen = settle_heap()
        assert frozen == gc.get_freeze_count() > 0
        assert gone() is None  # collected, not frozen for the life of the process
        assert not any(o is kept for o in gc.get_objects())  # the live start-up heap is out of the collector's walks
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())
