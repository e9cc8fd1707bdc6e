"""A task cancelled while it opens a transaction or takes a connection gives the connection back: the next query runs
(SQLite: the one connection's lock; PostgreSQL: the pool's connection), with no transaction left open on it."""

from __future__ import annotations

import asyncio

from tortoise import connections
from tortoise.transactions import in_transaction

from db.models import User

STEPS = 40  # event-loop steps a task may take before its cancel: every await of opening a transaction is met


async def _cancelled_at(step: int, body) -> None:
    task = asyncio.create_task(body())
    for _ in range(step):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _client():
    return connections.get(next(iter(connections.db_config)))


def _held(db) -> int:
    """Connections not given back: SQLite's lock held, or the pool's connections out."""
    client = _client()
    if db.dialect == "sqlite":
        return int(client._lock.locked())
    return client._pool.get_size() - client._pool.get_idle_size()


async def _in_transaction(db) -> bool:
    client = _client()
    if db.dialect == "sqlite":
        return bool(client._connection and client._connection.in_transaction)
    async with client.acquire_connection() as conn:
        return conn.is_in_transaction()


async def test_a_task_cancelled_while_its_transaction_opens_leaves_the_database_usable(db):
    await User.create(telegram_id=1)

    async def write():
        async with in_transaction():
            await User.create(telegram_id=2)

    for step in range(STEPS):
        await _cancelled_at(step, write)
        # the clean-up of a cancelled entry may still be under way: it ends at once
        count = await asyncio.wait_for(User.filter(telegram_id=1).count(), 5)
        assert count == 1, f"cancelled after {step} steps"
        assert _held(db) == 0, f"a connection was not given back after a cancel at step {step}"
        assert not await _in_transaction(db), f"a transaction was left open by a cancel at step {step}"


async def test_a_task_cancelled_while_it_takes_a_connection_leaves_the_database_usable(db):
    await User.create(telegram_id=1)

    async def read():
        await User.filter(telegram_id=1).count()

    for step in range(STEPS):
        await _cancelled_at(step, read)
        assert await asyncio.wait_for(User.filter(telegram_id=1).count(), 5) == 1, f"cancelled after {step} steps"
        assert _held(db) == 0, f"a connection was not given back after a cancel at step {step}"


async def test_a_batch_cancelled_outside_a_transaction_leaves_none_open(db):
    """A batch written by itself (Tortoise's `execute_many`, as bulk_create sends it): on SQLite it opens its own
    transaction, which a cancel must not leave open (its rows committed by whoever began one next)."""
    await User.create(telegram_id=1)

    async def batch():
        await User.bulk_create([User(telegram_id=1000 + k) for k in range(3)])

    for step in range(STEPS):
        await _cancelled_at(step, batch)
        assert await asyncio.wait_for(User.filter(telegram_id=1).count(), 5) == 1, f"cancelled after {step} steps"
        assert _held(db) == 0, f"a connection was not given back after a cancel at step {step}"
        assert not await _in_transaction(db), f"a transaction was left open by a cancel at step {step}"
