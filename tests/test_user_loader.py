"""The user loader reads the rows asked for in one loop turn with one query, each caller getting its own copy."""

from __future__ import annotations

import asyncio

import pytest

from bot.reads import users_by_telegram_ids
from bot.user_loader import UserLoader
from db.models import User


async def test_misses_of_one_turn_are_one_read_on_the_database(db):
    for t in range(1, 101):
        await User.create(telegram_id=t, username=f"u{t}")
    calls: list[list[int]] = []

    async def fetch(ids: list[int]) -> list[User]:
        calls.append(ids)
        return await users_by_telegram_ids(ids)

    loader = UserLoader(fetch)
    asked = [*range(1, 101), 7, 7, 555]
    got = await asyncio.gather(*(loader.get(t) for t in asked))
    assert len(calls) == 1 and sorted(calls[0]) == [*range(1, 101), 555]  # duplicates asked once
    assert [u.telegram_id if u else None for u in got] == [*range(1, 101), 7, 7, None]
    assert got[100] is not got[101] and got[100] is not got[6]  # every caller its own object
    got[6].username = "changed"
    assert got[100].username == "u7"
    assert (await loader.get(3)).telegram_id == 3 and len(calls) == 2  # a later turn is a new read


async def test_a_failed_read_fails_every_waiter_and_a_cancelled_one_leaves_the_others():
    started = asyncio.Event()
    release = asyncio.Event()

    async def fetch(ids: list[int]) -> list[User]:
        started.set()
        await release.wait()
        if 99 in ids:
            raise ConnectionError("database down")
        return [User(telegram_id=t) for t in ids]

    loader = UserLoader(fetch)
    a, b = asyncio.ensure_future(loader.get(1)), asyncio.ensure_future(loader.get(2))
    await started.wait()
    a.cancel()
    release.set()
    assert (await b).telegram_id == 2
    with pytest.raises(asyncio.CancelledError):
        await a

    release.clear()
    started.clear()
    c, d = asyncio.ensure_future(loader.get(99)), asyncio.ensure_future(loader.get(5))
    await started.wait()
    release.set()
    for fut in (c, d):
        with pytest.raises(ConnectionError):
            await fut
