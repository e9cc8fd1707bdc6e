"""A test still running after STUCK_S seconds has the stacks of its event loop's tasks printed (a hang's cause is in
a coroutine, which a thread dump does not show); pytest-timeout (pyproject.toml) ends the run later, naming it."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading

import pytest

STUCK_S = float(os.environ.get("TB_TEST_STUCK_S", "300"))


def _running_loops() -> list[asyncio.AbstractEventLoop]:
    return [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]


def _awaiting(task: asyncio.Task) -> list[str]:
    """The task's chain of awaits, outermost first, down to what it waits for (a suspended coroutine's own stack
    shows only its outermost frame)."""
    lines, obj = [], task.get_coro()
    while obj is not None:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)
        if frame is None:
            lines.append(f"    waiting for {obj!r}"[:300])
            break
        lines.append(f"    {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None) or getattr(obj, "ag_await", None)
    return lines


def _dump(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        print(f"  {task.get_name()}:", *_awaiting(task), sep="\n", file=sys.stderr)
    sys.stderr.flush()


def _tell(nodeid: str) -> None:
    print(f"\n=== {nodeid} still running after {STUCK_S:.0f} s: its tasks ===", file=sys.stderr, flush=True)
    for loop in _running_loops():
        loop.call_soon_threadsafe(_dump, loop)  # run by the loop itself, which wakes for it


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    timer = threading.Timer(STUCK_S, _tell, (item.nodeid,))
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()
