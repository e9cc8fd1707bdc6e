"""Tortoise's asyncpg client: its batches written outside a transaction sent without one of their own, and its
transactions opened so that a cancel or a failure of BEGIN gives the pool's connection back."""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionalDBClient, TransactionContext, TransactionContextPooled
from tortoise.backends.base_postgres.client import translate_exceptions

from db.tx_entry import opened


class _Transaction(TransactionContextPooled):
    """As Tortoise's, but for its entry (db/tx_entry.py): where BEGIN fails or its task is cancelled, the
    connection taken is closed and its place given back to the pool, which opens a new one when it is needed."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool = self.client._parent._pool
        conn = self.client._connection = await pool.acquire()  # a cancel inside gives it back (asyncpg)

        async def give_back() -> None:
            conn.terminate()  # its BEGIN cut short: not used again (the server ends its session, and what it opened)
            await pool.release(conn)

        await opened(self, self.client, give_back)
        return self.client


class PoolClient(AsyncpgDBClient):
    """Tortoise wraps each `execute_many` (bulk_create, db/row_updates.py) in BEGIN ... COMMIT: two round trips
    more than the batch itself, which asyncpg's `executemany` already runs all or nothing (asyncpg ≥ 0.22). Its
    transactions are entered through `_Transaction`."""

    def _in_transaction(self) -> TransactionContext:
        return _Transaction(TransactionWrapper(self), self._pool_init_lock)

    @translate_exceptions
    async def execute_many(self, query: str, values: list) -> None:
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)  # as Tortoise's own (its debug log lists the statements)
            await connection.executemany(query, values)


client_class = PoolClient
