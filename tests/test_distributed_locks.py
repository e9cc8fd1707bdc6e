"""The per-(account, symbol) lock across OS processes on PostgreSQL (advisory locks), in-process on SQLite."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import sys
import time

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from db.models import User
from engine.runtime.locks import SymbolLocks
from engine.runtime.pg_locks import stable_key
from tests.conftest import ROOT
from tests.lock_child import KEY

ON_POSTGRES = pytest.mark.parametrize("db", ["postgres"], indirect=True)  # SQLite serves one process


def test_the_key_is_a_stable_64_bit_hash():
    key = stable_key("tb:symbol-lock", 7, "BTC/USDT")
    assert key == stable_key("tb:symbol-lock", 7, "BTC/USDT") == 1867344537754449760  # the same in every process
    assert -(2**63) <= key < 2**63
    assert len({stable_key("tb:symbol-lock", a, s) for a in (7, 8) for s in ("BTC/USDT", "ETH/USDT")}) == 4


async def child(url: str, *args: object) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.lock_child", url, *map(str, args), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})


@ON_POSTGRES
async def test_two_processes_never_overlap_in_a_section(db):
    counter = await User.create(telegram_id=0)
    rounds = 40
    procs = [await child(db.url, "count", counter.id, rounds) for _ in range(2)]
    outs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    assert [p.returncode for p in procs] == [0, 0]
    sections = sorted(tuple(map(float, line.split()[1:])) for out, _ in outs for line in out.decode().splitlines())
    assert len(sections) == 2 * rounds
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(sections))  # one at a time
    assert (await User.get(id=counter.id)).telegram_id == 2 * rounds  # no read-modify-write lost


@ON_POSTGRES
async def test_a_section_holding_many_keys_and_one_holding_one_of_them_never_overlap(db):
    # a market job holds all of its market's (account, symbol) keys at once (hold_all); a chat's edit holds one
    counter = await User.create(telegram_id=0)
    rounds = 30
    procs = [await child(db.url, mode, counter.id, rounds) for mode in ("count", "count_all", "count_all")]
    outs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    assert [p.returncode for p in procs] == [0, 0, 0]
    sections = sorted(tuple(map(float, line.split()[1:])) for out, _ in outs for line in out.decode().splitlines())
    assert len(sections) == 3 * rounds
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(sections))
    assert (await User.get(id=counter.id)).telegram_id == 3 * rounds


async def test_held_keys_are_free_inside_their_section_and_taken_by_nobody_else(db):
    locks = SymbolLocks(wait=0.3)
    other = SymbolLocks(wait=0.3)  # another process, as far as the lock knows
    try:
        async with locks.hold_all([KEY, (KEY[0], "ETH/USDT")]) as held:
            async with held.hold(*KEY), held.hold_all([KEY]):  # the section's own steps: no wait on itself
                pass
            assert locks.locked(*KEY) and held.locked(*KEY)
            waiter = asyncio.create_task(_enter(locks.hold(*KEY)))  # this process's other task waits
            await asyncio.sleep(0.1)
            assert not waiter.done()
            if db.dialect == "postgres":
                with pytest.raises(TimeoutError):
                    async with other.hold(KEY[0], "ETH/USDT"):
                        pass
            async with held.hold(KEY[0], "XRP/USDT"):  # a key it does not hold is taken as usual
                pass
        await asyncio.wait_for(waiter, 5)
        async with other.hold(*KEY):
            pass
    finally:
        await locks.close()
        await other.close()


async def _enter(section) -> None:
    async with section:
        pass


@ON_POSTGRES
async def test_kill_9_of_the_holder_frees_the_lock_within_a_second(db):
    proc = await child(db.url, "hold")
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"held\n"
        locks = SymbolLocks()
        entered = asyncio.Event()

        async def enter() -> None:
            async with locks.hold(*KEY):
                entered.set()

        task = asyncio.create_task(enter())
        await asyncio.sleep(0.5)
        assert not entered.is_set()  # the other process holds it
        assert locks.locked(*KEY)  # this process's waiter holds the local lock in front
        proc.send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        await asyncio.wait_for(entered.wait(), 5)
        freed = time.monotonic() - t0
        await task
        await locks.close()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert freed < 1.0, f"the lock came free {freed:.2f} s after kill -9"


async def test_a_holder_elsewhere_past_wait_is_a_timeout_and_another_symbol_is_free(db):
    first, second = SymbolLocks(wait=0.3), SymbolLocks(wait=0.3)  # two processes' locks, as far as the lock knows
    try:
        async with first.hold(*KEY):
            if db.dialect == "postgres":
                t0 = time.monotonic()
                with pytest.raises(TimeoutError):
                    async with second.hold(*KEY):
                        pass
                assert 0.25 < time.monotonic() - t0 < 2
            async with second.hold(KEY[0], "ETH/USDT"):
                pass
        async with second.hold(*KEY):  # released: free for the other
            pass
        async with in_transaction(), first.hold(*KEY):  # taken inside a transaction of the models too
            await User.create(telegram_id=1)
        assert (first._pg is None) == (db.dialect == "sqlite")
    finally:
        await first.close()
        await second.close()


@ON_POSTGRES
async def test_a_lock_connection_lost_mid_section_is_logged_and_the_section_completes(db, caplog):
    first, second = SymbolLocks(), SymbolLocks(wait=5)
    done = []
    try:
        with caplog.at_level(logging.ERROR, logger="engine.runtime.pg_locks"):
            async with first.hold(*KEY):
                conn = await asyncpg.connect(db.url)
                try:
                    killed = await conn.fetchval(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'tb-symbol-locks' AND datname = current_database()")
                finally:
                    await conn.close()
                assert killed == 1
                async with second.hold(*KEY):  # PostgreSQL freed it: another process may enter now
                    done.append("second")
                done.append("first")
        assert done == ["second", "first"]
        assert "connection lost while held" in caplog.text
        async with first.hold(*KEY):  # the pool replaces the dead connection
            pass
    finally:
        await first.close()
        await second.close()


async def test_a_process_that_trades_alone_takes_no_advisory_lock(db):
    # make run (role all, no broker) is the only process trading: the in-process lock serialises it, and no section
    # pays the lock's database round trip; two such processes are not serialised (that is what shared=True is for)
    first, second = SymbolLocks(wait=0.3, shared=False), SymbolLocks(wait=0.3, shared=False)
    try:
        async with first.hold(*KEY), second.hold(*KEY):
            pass
        assert first._pg is None and second._pg is None
    finally:
        await first.close()
        await second.close()
