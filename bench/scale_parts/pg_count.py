"""The statements a bench process sends to PostgreSQL through the product's pools (the models' and the advisory
locks'), counted on the client: a round trip each, an executemany's rows going in one."""

from __future__ import annotations

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient

SENT = [0]


def _count(_record) -> None:
    SENT[0] += 1


class CountedConnection(asyncpg.connection.Connection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_query_logger(_count)


def count_statements() -> None:
    """Every connection the product's PostgreSQL clients open from now on counts what it sends in SENT."""
    AsyncpgDBClient.connection_class = CountedConnection  # db/pg_client.PoolClient's too
