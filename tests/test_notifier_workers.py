"""Several notifiers share the outbox: whole chats each, per-chat order kept, a live notifier's rows never taken, a
dead one's rows delivered by the others (3 OS processes on PostgreSQL; two notifiers in one process on both)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from bot.notifier import Notifier
from bot.pacing import Pacer
from db.enums import Delivery, NotificationStatus
from db.models import Notification, NotifierWorker, User
from engine.runtime.outbox import dedup, write
from tests.conftest import ROOT
from tests.notifier_child import DEAD_AFTER
from tests.test_notifier_delivery import I18N, fast_pacer, stand_in

PENDING, SENT = NotificationStatus.PENDING, NotificationStatus.SENT
CHATS, ROWS = 50, 1000
ON_POSTGRES = pytest.mark.parametrize("db", ["postgres"], indirect=True)  # SQLite serves one process


async def seed(chats: int, rows: int, base: int = 90_000) -> None:
    """`rows` notes over `chats` chats, interleaved; note #i carries its number, so a chat's texts show its order."""
    users = [await User.create(telegram_id=base + c) for c in range(chats)]
    await Notification.bulk_create([
        Notification(user_id=users[i % chats].id, kind="note", payload={"reason": f"#{i:04d}"}, dedup_key=f"w:{i}")
        for i in range(rows)])


def delivery(calls) -> tuple[dict[int, list[int]], int]:
    """Each chat's note numbers in the order they arrived, and how many arrived more than once."""
    per_chat: dict[int, list[int]] = defaultdict(list)
    for c in calls:
        per_chat[c.chat_id].append(int(re.search(r"#(\d{4})", c.text).group(1)))
    counts = Counter((chat, n) for chat, seq in per_chat.items() for n in seq)
    return per_chat, sum(counts.values()) - len(counts)


def assert_complete_and_in_order(per_chat: dict[int, list[int]]) -> None:
    assert sum(len(set(s)) for s in per_chat.values()) == ROWS and len(per_chat) == CHATS  # every row arrived
    for chat, seq in per_chat.items():
        assert seq == sorted(seq), f"chat {chat} out of order: {seq}"  # a repeat only ever follows its original


async def workers(url: str, api_url: str, n: int) -> list[tuple[asyncio.subprocess.Process, str]]:
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.notifier_child", url, api_url, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)}) for _ in range(n)]
    lines = [await asyncio.wait_for(p.stdout.readline(), 60) for p in procs]
    return [(p, line.decode().split()[1]) for p, line in zip(procs, lines, strict=True)]


async def until(check, timeout: float, step: float = 0.05) -> float:
    t0 = time.monotonic()
    while not await check():
        assert time.monotonic() - t0 < timeout, "timed out"
        await asyncio.sleep(step)
    return time.monotonic() - t0


async def stop(procs) -> list[int]:
    """SIGTERM the live ones; what each said it sent."""
    sent = []
    for p, _ in procs:
        if p.returncode is None:
            p.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(p.communicate(), 30)
            sent.append(int(out.decode().split()[-1]))
    return sent


@contextlib.asynccontextmanager
async def three_workers(db):
    async with stand_in() as (api, _):
        procs = await workers(db.url, api.base_url, 3)
        try:
            yield api, procs
        finally:
            for p, _ in procs:
                if p.returncode is None:
                    p.kill()
                    await p.wait()


@ON_POSTGRES
async def test_three_worker_processes_share_the_outbox_in_order_without_duplicates(db):
    async with three_workers(db) as (api, procs):
        t0 = time.monotonic()
        await seed(CHATS, ROWS)
        await until(_sent_all, 120)
        took = time.monotonic() - t0
        sent = await stop(procs)
        per_chat, duplicates = delivery(api.calls("sendMessage"))
    assert_complete_and_in_order(per_chat)
    assert duplicates == 0
    assert sum(sent) == ROWS and min(sent) > 0, sent  # each worker took a share
    print(f"\n3 workers: {ROWS} rows / {CHATS} chats in {took:.1f} s, per worker {sent}, 0 duplicates")


async def _sent_all() -> bool:
    return await Notification.filter(status=SENT).count() == ROWS


@ON_POSTGRES
async def test_kill_9_of_one_worker_mid_drain_the_others_deliver_everything(db):
    async with three_workers(db) as (api, procs):
        await seed(CHATS, ROWS)
        await until(lambda: _sends_at_least(api, 300), 120, 0.01)
        holding = Counter(await Notification.filter(status=PENDING, delivery__isnull=False)
                          .values_list("claimed_by", flat=True))
        victim, token = max(procs, key=lambda p: holding[p[1]])  # the busiest: the most to hand on
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        killed_at = time.monotonic()
        mine = Notification.filter(status=PENDING, claimed_by=token, delivery__isnull=False)
        held, in_flight = await mine.count(), await mine.filter(delivery=Delivery.SENDING).count()

        async def moved_on() -> bool:
            return not await mine.exists()

        await until(moved_on, 30, 0.02)
        moved = time.monotonic() - killed_at
        await until(_sent_all, 120)
        sent = await stop(procs)
        per_chat, duplicates = delivery(api.calls("sendMessage"))
    assert_complete_and_in_order(per_chat)
    assert held > 0, "the kill came too late to prove anything"
    assert duplicates <= in_flight, (duplicates, in_flight)  # only a row caught mid-send can arrive twice
    assert moved < DEAD_AFTER + 1.0
    assert len(sent) == 2
    print(f"\nkill -9 of 1 of 3 workers: it held {held} rows ({in_flight} mid-send), due again {moved:.2f} s after "
          f"the kill, {duplicates} duplicates, survivors sent {sent}")


async def _sends_at_least(api, n: int) -> bool:
    return len(api.calls("sendMessage")) >= n


# ---- two notifiers in one process: the rules themselves, on SQLite and PostgreSQL ----

async def notes(tg: int, n: int, tag: str) -> User:
    u = await User.create(telegram_id=tg)
    for i in range(n):
        await write(u.id, "note", {"reason": f"#{i:04d}"}, dedup("note", tag, i))
    return u


async def test_a_live_notifiers_chats_are_neither_recovered_nor_shared(db):
    one, two = await notes(501, 3, "a"), await notes(502, 2, "b")
    async with stand_in() as (_, bot):
        a, b = Notifier(bot, i18n=I18N, pacer=fast_pacer()), Notifier(bot, i18n=I18N, pacer=fast_pacer())
        try:
            await a.claims.join()
            assert {r.user_id for r in await a.claims.claim(3, set())} == {one.id}  # the 3 oldest: chat one's
            assert await b.recover() == 0  # a runs: its rows are its own (a restart used to take them)
            await write(one.id, "note", {"reason": "#0003"}, dedup("note", "a", 3))
            await b.claims.join()
            taken = await b.claims.claim(100, set())
            assert {r.user_id for r in taken} == {two.id}  # chat one stays with a, new row included
            assert {r.user_id for r in await a.claims.claim(100, set())} == {one.id}  # a gets chat one's new row
            await a.claims.leave()  # a stopped: its chat is free at once
            assert await b.recover() == 4
            assert {r.user_id for r in await b.claims.claim(100, {r.id for r in taken})} == {one.id}
        finally:
            await a.claims.leave()
            await b.claims.leave()


async def test_a_notifier_takes_new_chats_only_up_to_its_share_of_the_waiting_ones(db):
    chats = [(await notes(700 + i, 2, f"f{i}")).id for i in range(6)]
    async with stand_in() as (_, bot):
        a, b, c = (Notifier(bot, i18n=I18N, pacer=fast_pacer()) for _ in range(3))
        try:
            for n in (a, b, c):
                await n.claims.join()

            async def taken(n: Notifier) -> set[int]:
                return {r.user_id for r in await n.claims.claim(100, set())}

            first = await taken(a)
            assert first == set(chats[:2])  # 6 chats waiting, 3 notifiers: 2 each, not all 6 to the first awake
            assert await taken(a) == set()  # its share held: the rest is left to the others
            assert await taken(b) == set(chats[2:4]) and await taken(c) == set(chats[4:])
            late = (await notes(790, 1, "late")).id
            assert await taken(a) == {late}  # 7 chats, 3 notifiers: a share of 3
            await write(chats[0], "note", {"reason": "#0009"}, dedup("note", "f0", 9))
            assert await taken(a) == {chats[0]}  # its own chats' new rows always
            await c.claims.leave()  # c stopped: its chats are due again, shared by the 2 left
            assert await b.recover() == 4
            assert await taken(b) == set(chats[4:])  # 7 chats, 2 notifiers: b holds 2, takes up to 4
        finally:
            for n in (a, b, c):
                await n.claims.leave()


async def test_a_silent_notifiers_rows_move_on_and_it_sends_none_of_them(db):
    u = await notes(601, 6, "s")
    async with stand_in() as (api, bot):
        # 2 a second to this chat; a heartbeat a minute apart, so a backdated one makes it look silent
        a = Notifier(bot, i18n=I18N, pacer=Pacer(100, 2, chat_burst=1), poll=0.05, beat=60)
        b = Notifier(bot, i18n=I18N, pacer=fast_pacer(), dead_after=0.5)
        running = asyncio.create_task(a.run_forever())
        try:
            await api.next_call("sendMessage", chat_id=601, timeout=10)
            # a falls silent (a long pause, a network split) while its chat worker goes on
            await NotifierWorker.filter(token=a.claims.token).update(seen_at=datetime.now(UTC) - timedelta(seconds=5))
            assert await b.recover() > 0
            await b.claims.join()
            taken = [r.id for r in await b.claims.claim(100, set())]  # b holds them, queued behind other chats
            assert taken
            await asyncio.sleep(1.2)  # a's next slot has come and gone: it found its row taken and sent nothing
            assert not a._queues and not a._held
            running.cancel()  # before b lets the rows go: a live a could claim them again and be cancelled holding them
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await b.claims.release(taken)
            await b.drain_once()
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        texts = [c.text for c in api.calls("sendMessage", chat_id=601)]
    numbers = [int(re.search(r"#(\d{4})", t).group(1)) for t in texts]
    assert sorted(set(numbers)) == list(range(6)) and numbers == sorted(numbers)
    assert len(numbers) - 6 <= 1  # only a row a was sending at that very moment could arrive twice
    assert a.sent + b.sent == len(numbers) and a.sent < 6
    assert await Notification.filter(user=u, status=SENT).count() == 6
