"""A second SQLite connection, for reads only, so that the chat's hot reads do not queue behind Tortoise's lock."""

# Tortoise runs every SQLite statement on one connection and holds an asyncio.Lock across each round trip to
# aiosqlite's thread: under load each statement waits for the event loop to resume the previous one's caller, and
# the chat's reads trail hundreds of milliseconds behind (bench/updates.py, first contact of 600 users in a second).
# Here statements go straight into this connection's own thread and queue there. The database is in WAL mode
# (Tortoise's default), so this connection reads committed rows while the other one writes; it never writes
# (PRAGMA query_only), and as its statements run outside any transaction of the main connection, a caller inside
# such a transaction must not use it for rows it has just written.

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import aiosqlite

_readers: dict[str, asyncio.Task[aiosqlite.Connection]] = {}


async def _open(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn._conn.row_factory = sqlite3.Row  # aiosqlite's own attribute for it also goes through this
    await conn.execute("PRAGMA query_only = ON")
    return conn


async def reader(client: Any) -> aiosqlite.Connection | None:
    """The read connection beside Tortoise's SQLite `client` (None for an in-memory database, which a second
    connection would not see)."""
    path = getattr(client, "filename", None)
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    task = _readers.get(path)
    if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
        task = _readers[path] = asyncio.ensure_future(_open(path))
    return await asyncio.shield(task)


async def fetch(client: Any, sql: str, params: list) -> list[sqlite3.Row] | None:
    """The rows of `sql` read on the reader; None when there is none (the caller reads through Tortoise)."""
    conn = await reader(client)
    if conn is None:
        return None
    return list(await conn.execute_fetchall(sql, params))


async def close_readers() -> None:
    """Close every reader (when the database is disconnected)."""
    tasks = list(_readers.values())
    _readers.clear()
    for task in tasks:
        try:
            conn = await task
        except Exception:  # it never opened: nothing to close
            continue
        await conn.close()
