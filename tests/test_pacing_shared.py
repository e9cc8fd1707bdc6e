"""Telegram's pace shared through Redis: 3 OS processes on one bot token keep 30 msg/s together against the Bot API
stand-in, a 429 seen by one pauses all, one chat is spaced across processes; without REDIS_URL nothing changes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
import uuid

from aiogram import Bot
from redis.asyncio import Redis

from bot.pacing import Pacer, pacer_for
from bot.pacing_shared import SharedPacer, make_pacer
from bot.sandbox.bot_api import BotAPIStandIn, RateLimit
from tests.conftest import ROOT
from tests.pacing_child import SENDERS, TOKEN

REDIS_URL = "redis://127.0.0.1:6379/12"
CHILD = 1_000_000  # chat ids of child i start at (i + 1) * CHILD


def fresh_prefix() -> str:
    return f"test:pace:{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def children(api: BotAPIStandIn, seconds: float, n: int = 3):
    """n child processes on one prefix, all started at once; yields the start time and a list their counters fill."""
    prefix = fresh_prefix()
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.pacing_child", REDIS_URL, api.base_url, prefix, str(seconds), str((i + 1) * CHILD),
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)}) for i in range(n)]
    results: list[dict] = []
    try:
        for p in procs:
            assert (await asyncio.wait_for(p.stdout.readline(), 60)).strip() == b"ready"
        for p in procs:
            p.stdin.write(b"go\n")
            await p.stdin.drain()
        yield time.monotonic(), results
        for p in procs:
            out, _ = await asyncio.wait_for(p.communicate(), seconds + 30)
            assert p.returncode == 0
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        redis = Redis.from_url(REDIS_URL)
        keys = await redis.keys(f"{prefix}:*")
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def child_of(chat_id: int) -> int:
    return chat_id // CHILD - 1


async def test_three_processes_share_thirty_per_second_with_no_429():
    api = await BotAPIStandIn(rate_limit=RateLimit(overall=30, per_chat=1)).start()
    try:
        async with children(api, seconds=5.0) as (_, results):
            pass
    finally:
        await api.stop()
    calls = api.calls("sendMessage", ok=None)
    assert calls and all(c.ok for c in calls), f"{sum(not c.ok for c in calls)} answers 429"
    times = sorted(c.ts for c in calls)
    assert all(times[i + 30] - times[i] > 1.0 for i in range(len(times) - 30))  # never 31 in one second
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate >= 25.0, f"only {rate:.1f} msg/s together"
    per_child = [sum(child_of(c.chat_id) == i for c in calls) for i in range(3)]
    assert min(per_child) >= 0.2 * len(calls), per_child  # all three sent: the budget is shared, not taken by one
    # a send in flight when its child stops (its senders cancelled) reaches the stand-in without being counted ok
    ok = sum(r["ok"] for r in results)
    assert len(calls) - 3 * SENDERS <= ok <= len(calls) and sum(r["refused"] for r in results) == 0, (ok, len(calls))
    slots, trips = sum(r["slots"] for r in results), sum(r["round_trips"] for r in results)
    late = sum(r["late"] for r in results)
    assert trips <= slots + late + 3 * SENDERS  # one round trip per slot (and per slot still booked at the stop)
    print(f"\n{rate:.1f} msg/s from {per_child}; {trips} round trips for {slots} slots, "
          f"{late} slots given up late")


async def test_a_429_seen_by_one_process_pauses_all_three():
    api = await BotAPIStandIn(rate_limit=RateLimit(overall=30, per_chat=1)).start()
    try:
        async with children(api, seconds=7.0) as (start, results):
            await asyncio.sleep(1.5 - (time.monotonic() - start))
            # something else on the token (a process without REDIS_URL, say) leaves a third of the budget: 429s
            api.rate_limit = RateLimit(overall=10, per_chat=1, retry_after=2)
            while not api.calls("sendMessage", ok=False):
                assert time.monotonic() - start < 5, "no 429 came"
                await asyncio.sleep(0.005)
            api.rate_limit = RateLimit(overall=30, per_chat=1)
    finally:
        await api.stop()
    calls = [c for c in api.calls("sendMessage", ok=None) if c.chat_id >= CHILD]
    first = min(c.ts for c in calls if not c.ok)
    during = [c for c in calls if first + 0.1 <= c.ts <= first + 1.9]
    assert during == [], f"sends during the pause from children {sorted({child_of(c.chat_id) for c in during})}"
    after = {child_of(c.chat_id) for c in calls if c.ok and c.ts > first + 2.0}
    assert after == {0, 1, 2}  # and then all three go on
    assert all(r["heard"] >= 1 for r in results), results  # each was told, not only the one that met the 429
    assert sum(r["pauses"] for r in results) >= 1
    refused = [c for c in calls if not c.ok]
    assert all(c.ts < first + 0.1 for c in refused)  # only what was already on its way when the first 429 came
    delivered = {c.chat_id for c in calls if c.ok}
    assert all(c.chat_id in delivered for c in refused)  # each refused message went again after the pause
    print(f"\n{len(refused)} sends refused in all; {len(calls)} sent")


async def test_one_chat_is_spaced_across_processes():
    """A broadcast in one process and the chat's notifier in another write to one chat: spacing holds for both."""
    prefix = fresh_prefix()
    a, b = (SharedPacer(Redis.from_url(REDIS_URL), 42, rate=1000, per_chat=10, chat_burst=1, prefix=prefix)
            for _ in range(2))
    stamps: list[float] = []

    async def stamp():
        stamps.append(time.monotonic())

    try:
        await asyncio.gather(*(p.send(7, stamp) for p in (a, b) for _ in range(4)))
    finally:
        await a.aclose()
        await b.aclose()
    stamps.sort()
    gaps = [y - x for x, y in itertools.pairwise(stamps)]
    assert len(stamps) == 8 and min(gaps) >= 0.1, gaps


async def test_redis_out_of_reach_paces_this_process_alone(caplog):
    pacer = SharedPacer(Redis.from_url("redis://:hunter2@127.0.0.1:1/0"), 42, rate=50, per_chat=50)
    stamps: list[float] = []

    async def stamp():
        stamps.append(time.monotonic())

    try:
        await asyncio.gather(*(pacer.send(c, stamp) for c in range(60)))
    finally:
        await pacer.aclose()
    stamps.sort()
    assert len(stamps) == 60 and all(stamps[i + 50] - stamps[i] > 1.0 for i in range(10))
    assert "paces alone" in caplog.text and "hunter2" not in caplog.text


async def test_without_redis_url_the_in_process_pacer_is_used():
    bot = Bot(TOKEN)
    try:
        plain = make_pacer(bot, None)
        assert type(plain) is Pacer and plain is pacer_for(bot)
        shared = make_pacer(bot, REDIS_URL, prefix=fresh_prefix())
        assert isinstance(shared, SharedPacer) and pacer_for(bot) is shared  # the broadcast gets the shared one
        await shared.aclose()
    finally:
        await bot.session.close()
