"""Opening a transaction that gives its connection back when the opening fails or its task is cancelled half-way.

Tortoise's transaction contexts take the connection (SQLite: the one connection's lock; PostgreSQL: a pool's
connection) and then await BEGIN; a cancel or an error in that await skipped their `__aexit__`, so the connection was
never given back: on SQLite every later query of the process waited for ever (a notifier's chat worker stopped at
that moment froze the tests' whole run), on PostgreSQL the pool lost a connection each time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.connection import get_connections

_UNDOING: set[asyncio.Task] = set()  # the give-backs under way (the loop keeps only weak references to tasks)


async def opened(context: Any, client: Any, give_back: Callable[[], Awaitable[None]]) -> None:
    """`client`'s BEGIN, `client` being the connection of `context` (a Tortoise transaction context) for this task
    meanwhile; where it raises or is cancelled, `give_back()` runs to its end, even when the task is cancelled again
    meanwhile, before the exception goes on."""
    context.token = get_connections().set(context.connection_name, client)
    try:
        await client.begin()
    except BaseException:
        get_connections().reset(context.token)  # in this task's context, where it was set
        undo = asyncio.get_running_loop().create_task(give_back())
        _UNDOING.add(undo)
        undo.add_done_callback(_UNDOING.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(undo)
        raise
