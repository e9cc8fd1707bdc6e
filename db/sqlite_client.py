"""Tortoise's SQLite client, safe against a cancel: a transaction whose BEGIN is cut short gives the connection's lock
back with nothing left open (db/tx_entry.py), and a batch written by itself that is cut short is rolled back."""

from __future__ import annotations

import asyncio

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)

from db.tx_entry import opened


class _Transaction(SqliteTransactionContext):
    """As Tortoise's, but for its entry (db/tx_entry.py): BEGIN, queued on the connection's thread, may run after
    its task stopped waiting; it is rolled back before the lock is given back, so the next holder finds no
    transaction open."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()  # it waits only where the connection is not open yet
        except BaseException:
            self._trxlock.release()
            raise

        async def give_back() -> None:
            try:
                conn = self.connection._connection
                if conn is not None:
                    await conn.rollback()  # after the BEGIN queued before it; nothing where none is open
            finally:
                self._trxlock.release()

        await opened(self, self.connection, give_back)
        return self.connection


class Client(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return _Transaction(SqliteTransactionWrapper(self), self._lock)

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list]) -> None:
        """As Tortoise's (a batch outside a transaction in one of its own), but a cancel rolls it back too, where
        Tortoise's caught only errors: the transaction stayed open, its rows committed by the next one begun."""
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)  # as Tortoise's own (its debug log lists the statements)
            try:
                await connection.execute("BEGIN")  # cut short, it still runs on the connection's thread
                await connection.executemany(query, values)
            except BaseException:
                await asyncio.shield(connection.rollback())
                raise
            await connection.commit()


client_class = Client
