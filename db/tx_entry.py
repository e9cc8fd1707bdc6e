"""Opening a transaction that gives its connection back when the opening fails or its task is cancelled half-way.

Tortoise's transaction contexts take the connection (SQLite: the one connection's lock; PostgreSQL: a pool's
connection) and then await BEGIN; a cancel or an error in that await skipped their `__aexit__`, so the connection was
never given back: on SQLite every later query of the process waited for ever (a notifier's chat worker stopped at
that moment froze the tests' whole run), on PostgreSQL the pool lost a connection each time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

_UNDOING: set[asyncio.Task] = set()  # the give-backs under way (the loop keeps only weak references to tasks)


async def opened(begin: Callable[[], Awaitable[None]], give_back: Callable[[], Awaitable[None]]) -> None:
    """`begin()`; where it raises or is cancelled, `give_back()` runs to its end, even when the task is cancelled
    again meanwhile, before the exception goes on."""
    try:
        await begin()
    except BaseException:
        undo = asyncio.get_running_loop().create_task(give_back())
        _UNDOING.add(undo)
        undo.add_done_callback(_UNDOING.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(undo)
        raise
