"""One lock per (account, symbol), shared by chat handlers and jobs: across processes on PostgreSQL, in-process else.

Why PostgreSQL advisory locks and not Redis locks with fencing tokens: a Redis lock expires after a TTL, so a holder
slower than its TTL loses the lock without knowing it, and only a fencing token checked by every write could make
that safe — but the writes go to PostgreSQL and the exchange, and an exchange checks no token of ours. An advisory
lock has no TTL: it lasts exactly as long as the holder's connection, so a slow holder keeps it and a dead one (kill
-9, a crashed machine once TCP notices) loses it at once, with no clock to tune. PostgreSQL is already the truth
every writer talks to; Redis stays optional (rebuildable state only). The key is a stable 64-bit hash of (account,
symbol) (pg_locks.stable_key).

What a lost lock connection means: PostgreSQL frees the lock when the connection drops, while the section still runs
here, so another process may enter before it ends. That is survivable because the writes that matter are idempotent
already: an order is submitted under its deterministic client order id (Order.client_order_id UNIQUE, looked up
before any resend) and a fill is booked once per trade (Fill UNIQUE (account, trade_id)). The loss is logged.

On SQLite (one process) the in-process asyncio lock alone. That lock stays in front on PostgreSQL too, so one
process holds at most one connection per key however many of its tasks wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from engine.runtime.pg_locks import AdvisoryLocks, database_client, is_postgres, stable_key

NAMESPACE = "tb:symbol-lock"


class SymbolLocks:
    """Serialises everything that touches one account's symbol, in this process and, on PostgreSQL, across processes.

    `wait` bounds the wait for another process's holder (TimeoutError after it); `pool_size` is how many sections
    of different keys this process can run at once on PostgreSQL (more wait for a connection). `redis` is accepted
    for the callers that pass one and not used: the lock lives in PostgreSQL (see the module's docstring).
    """

    def __init__(self, redis: Any | None = None, *, wait: float = 30.0, pool_size: int = 16, shared: bool = True):
        # Only keys someone holds or waits for have a lock (10,000 idle bots, 10,000 idle locks otherwise):
        # `_users` counts the holder and the waiters of each key, and the last one out drops the lock.
        self._local: dict[tuple[int, str], asyncio.Lock] = {}
        self._users: dict[tuple[int, str], int] = {}
        self._wait, self._pool_size = wait, pool_size
        # False: this process is the only one trading (make run, role all without BROKER_URL), so the in-process
        # lock is enough and no section pays a database round trip for the advisory lock
        self.shared = shared
        self._pg: AdvisoryLocks | None = None

    def locked(self, account_id: int, symbol: str) -> bool:
        """Whether a task of this process holds the key or waits for another process to let it go."""
        lock = self._local.get((account_id, symbol))
        return lock is not None and lock.locked()

    @asynccontextmanager
    async def hold(self, account_id: int, symbol: str) -> AsyncIterator[None]:
        async with self._local_lock((account_id, symbol)):
            pg = self._shared()
            if pg is None:
                yield
                return
            async with pg.hold(stable_key(NAMESPACE, account_id, symbol), f"account {account_id} {symbol}"):
                yield

    @asynccontextmanager
    async def hold_all(self, keys: Iterable[tuple[int, str]]) -> AsyncIterator[SymbolLocks]:
        """Every (account, symbol) of `keys` held for one section: a market's job, so that its bots' writes can be
        batched while nobody else can touch them. The local locks are taken in sorted order, then, on PostgreSQL,
        every advisory lock in one transaction in the order of its 64-bit key: two such sections never wait for each
        other in a circle, and a section of one key waits for it alone. Yields the locks to pass on: their `hold` of
        a key held here is free (the section's own steps), any other key is taken as usual."""
        wanted = sorted(set(keys))
        async with contextlib.AsyncExitStack() as stack:
            for key in wanted:
                await stack.enter_async_context(self._local_lock(key))
            pg = self._shared()
            if pg is not None and wanted:
                await stack.enter_async_context(pg.hold_all([stable_key(NAMESPACE, *k) for k in wanted],
                                                            f"{len(wanted)} account symbols"))
            yield HeldLocks(self, frozenset(wanted))

    @asynccontextmanager
    async def _local_lock(self, key: tuple[int, str]) -> AsyncIterator[None]:
        lock = self._local.get(key)
        if lock is None:
            lock = self._local[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1  # no await since the lookup: nobody can drop it meanwhile
        try:
            async with lock:
                yield
        finally:
            left = self._users[key] - 1
            if left:
                self._users[key] = left
            else:  # nobody holds or waits: the next user makes a fresh lock
                del self._users[key], self._local[key]

    def _shared(self) -> AdvisoryLocks | None:
        """The advisory locks on the database the models use now (None on SQLite or before connect)."""
        if not self.shared:
            return None
        client = database_client()
        if not is_postgres(client):
            return None
        if self._pg is None or self._pg.source is not client:  # first use, or the models reconnected
            self._pg = AdvisoryLocks(client, size=self._pool_size, wait=self._wait, name="tb-symbol-locks")
        return self._pg

    async def close(self) -> None:
        """Close the lock connections (Engine.shutdown); a later hold opens them again."""
        pg, self._pg = self._pg, None
        if pg is not None:
            await pg.close()


class HeldLocks:
    """The locks inside a `SymbolLocks.hold_all` section: its keys are already held, others are taken as usual."""

    def __init__(self, locks: SymbolLocks, held: frozenset[tuple[int, str]]):
        self._locks, self._held = locks, held

    def locked(self, account_id: int, symbol: str) -> bool:
        return (account_id, symbol) in self._held or self._locks.locked(account_id, symbol)

    def holds(self, account_id: int, symbol: str) -> bool:
        """Whether the section holds this key for its whole length."""
        return (account_id, symbol) in self._held

    @asynccontextmanager
    async def hold(self, account_id: int, symbol: str) -> AsyncIterator[None]:
        if (account_id, symbol) in self._held:
            yield
            return
        async with self._locks.hold(account_id, symbol):
            yield

    @asynccontextmanager
    async def hold_all(self, keys: Iterable[tuple[int, str]]) -> AsyncIterator[HeldLocks]:
        rest = set(keys) - self._held
        if not rest:
            yield self
            return
        async with self._locks.hold_all(rest) as more:
            yield HeldLocks(self._locks, self._held | more._held)
