"""The outbox deduplicates by event identity inside transactions; symbol locks serialise (tests/test_distributed_locks.py
for several processes)."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.transactions import in_transaction

from db.models import Notification, User
from engine.runtime.locks import SymbolLocks
from engine.runtime.outbox import dedup, write


async def test_same_event_twice_is_one_notification_and_the_transaction_survives(db):
    user = await User.create(telegram_id=5)
    key = dedup("fill", 1, "T-77")
    async with in_transaction() as conn:
        await write(user.id, "fill", {"price": "1"}, key, conn=conn)
        await write(user.id, "fill", {"price": "2"}, key, conn=conn)  # a replay: ignored
        await User.filter(id=user.id).using_db(conn).update(language="ko")  # the transaction is still usable
    assert await Notification.filter(dedup_key=key).count() == 1
    assert (await Notification.get(dedup_key=key)).payload == {"price": "1"}
    assert (await User.get(id=user.id)).language == "ko"


async def test_notification_rolls_back_with_its_cause(db):
    user = await User.create(telegram_id=6)
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await write(user.id, "fill", {}, dedup("fill", 1, "T-1"), conn=conn)
            raise RuntimeError("the fill's processing failed")
    assert await Notification.all().count() == 0


def test_dedup_key_shape():
    assert dedup("fill", 3, "abc") == "fill:3:abc"
    with pytest.raises(ValueError):
        dedup("x", "y" * 200)


async def _exclusive(locks: SymbolLocks, trace: list[str], name: str) -> None:
    async with locks.hold(1, "BTC/USDT"):
        trace.append(f"{name}+")
        await asyncio.sleep(0.02)
        trace.append(f"{name}-")


async def test_symbol_lock_serialises(db):
    """On PostgreSQL through the advisory lock as well; on SQLite the in-process lock alone."""
    locks = SymbolLocks()
    trace: list[str] = []
    try:
        await asyncio.gather(*(_exclusive(locks, trace, n) for n in "abc"))
        assert all(trace[i][0] == trace[i + 1][0] for i in range(0, 6, 2))  # never interleaved
        async with locks.hold(1, "ETH/USDT"):  # another symbol is independent
            assert not locks.locked(1, "BTC/USDT")
        assert (locks._pg is not None) == (db.dialect == "postgres")
    finally:
        await locks.close()


async def test_idle_symbol_locks_are_dropped():
    """Locks exist only while held or waited for; the last user out drops one, even when its body raises."""
    locks = SymbolLocks()
    trace: list[str] = []
    tasks = [asyncio.create_task(_exclusive(locks, trace, n)) for n in "abc"]
    await asyncio.sleep(0.01)
    assert locks.locked(1, "BTC/USDT") and locks._users[(1, "BTC/USDT")] == 3
    await asyncio.gather(*tasks)
    assert all(trace[i][0] == trace[i + 1][0] for i in range(0, 6, 2))
    with pytest.raises(RuntimeError):
        async with locks.hold(2, "ETH/USDT"):
            raise RuntimeError("boom")
    assert not locks.locked(1, "BTC/USDT") and not locks._local and not locks._users
