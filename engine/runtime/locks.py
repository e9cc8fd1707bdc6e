"""One lock per (account, symbol), shared by chat handlers and scheduler jobs; in Redis too when configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class SymbolLocks:
    """Serialises everything that touches one account's symbol.

    In-process asyncio locks always; with a Redis client, also a Redis lock so that several processes
    (bot replicas) serialise too. The Redis lock expires (`ttl`) so a crashed holder cannot wedge a symbol.
    """

    def __init__(self, redis: Any | None = None, *, ttl: float = 60.0, wait: float = 30.0, prefix: str = "tb:lock"):
        # Only keys someone holds or waits for have a lock (10,000 idle bots, 10,000 idle locks otherwise):
        # `_users` counts the holder and the waiters of each key, and the last one out drops the lock.
        self._local: dict[tuple[int, str], asyncio.Lock] = {}
        self._users: dict[tuple[int, str], int] = {}
        self._redis = redis
        self._ttl, self._wait, self._prefix = ttl, wait, prefix

    def locked(self, account_id: int, symbol: str) -> bool:
        lock = self._local.get((account_id, symbol))
        return lock is not None and lock.locked()

    @asynccontextmanager
    async def hold(self, account_id: int, symbol: str) -> AsyncIterator[None]:
        key = (account_id, symbol)
        lock = self._local.get(key)
        if lock is None:
            lock = self._local[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1  # no await since the lookup: nobody can drop it meanwhile
        try:
            async with lock:
                if self._redis is None:
                    yield
                    return
                rlock = self._redis.lock(
                    f"{self._prefix}:{account_id}:{symbol}", timeout=self._ttl, blocking_timeout=self._wait
                )
                if not await rlock.acquire():
                    raise TimeoutError(f"lock for account {account_id} {symbol} is held elsewhere")
                try:
                    yield
                finally:
                    await rlock.release()
        finally:
            left = self._users[key] - 1
            if left:
                self._users[key] = left
            else:  # nobody holds or waits: the next user makes a fresh lock
                del self._users[key], self._local[key]
