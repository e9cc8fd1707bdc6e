"""User rows for updates that missed the cache, read together: one query for all the misses of one loop turn."""

# A burst of first contacts (a restart, a broadcast's replies) sends hundreds of updates a second whose rows are not
# cached yet. aiogram handles each update in its own task, so their lookups arrive in the same turn of the event loop;
# read one by one they were one statement each and the chat fell behind. Here the ids asked for in one turn are read
# with `... WHERE telegram_id IN (...)` once that turn is over.

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.user_cache import copy_user
from db.models import User

Fetch = Callable[[list[int]], Awaitable[list[User]]]


class UserLoader:
    """`await loader.get(telegram_id)`: that user's row or None, read in a batch with the other pending ones."""

    def __init__(self, fetch: Fetch):
        self._fetch = fetch
        self._pending: dict[int, asyncio.Future[User | None]] = {}
        self._reads: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

    async def get(self, telegram_id: int) -> User | None:
        fut = self._pending.get(telegram_id)
        if fut is None:
            loop = asyncio.get_running_loop()
            if not self._pending:
                loop.call_soon(self._flush)
            fut = self._pending[telegram_id] = loop.create_future()
        user = await asyncio.shield(fut)  # one caller cancelled must not cancel the others' read
        return copy_user(user) if user is not None else None  # each update its own object

    def _flush(self) -> None:
        batch, self._pending = self._pending, {}
        task = asyncio.ensure_future(self._read(batch))
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    async def _read(self, batch: dict[int, asyncio.Future[User | None]]) -> None:
        try:
            rows = {u.telegram_id: u for u in await self._fetch(list(batch))}
        except asyncio.CancelledError:
            for fut in batch.values():
                fut.cancel()
            raise
        except Exception as e:  # every waiter hears of it
            for fut in batch.values():
                if not fut.done():
                    fut.set_exception(e)
            return
        for telegram_id, fut in batch.items():
            if not fut.done():
                fut.set_result(rows.get(telegram_id))
