"""Tortoise's asyncpg client, its batches written outside a transaction sent without one of their own."""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base_postgres.client import translate_exceptions


class PoolClient(AsyncpgDBClient):
    """Tortoise wraps each `execute_many` (bulk_create, db/row_updates.py) in BEGIN ... COMMIT: two round trips
    more than the batch itself, which asyncpg's `executemany` already runs all or nothing (asyncpg ≥ 0.22)."""

    @translate_exceptions
    async def execute_many(self, query: str, values: list) -> None:
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)  # as Tortoise's own (its debug log lists the statements)
            await connection.executemany(query, values)


client_class = PoolClient
