"""Telegram's pace shared through Redis by every process sending for one bot token: slots, per-chat spacing, pauses."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from redis.exceptions import RedisError

from bot.pacing import CHAT_BURST, GLOBAL_RATE, PER_CHAT_RATE, Pacer, pacer_for, register

log = logging.getLogger(__name__)

SHARED_HEADROOM = 0.95  # 28.5/s: 31 slots span 1.053 s, so a send may reach Telegram up to 52 ms late
LATE = 0.02  # a sender that wakes later than this after its slot gives the slot up and books another
MAX_LATE = 5  # ...at most this many times in a row (a starved loop still sends; a 429 then pauses everyone)
WARN_EVERY = 60.0

# One round trip books a send slot: the bot's slots are spaced `interval` apart on Redis's clock (GCRA with no
# burst: a theoretical arrival time pushed on by each booking), the chat's by `chat_interval` after a burst of
# `chat_tolerance`, and nothing is booked while the flood pause key lives. Times in microseconds; the keys expire
# once they no longer hold anyone back. Returns {1, wait}: the slot starts `wait` from now; {0, wait}: paused;
# {2, wait}: the chat is not ready.
RESERVE = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return {0, pause * 1000} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, chat_interval, chat_tolerance = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local chat = tonumber(redis.call('GET', KEYS[3]) or now)
if chat - chat_tolerance > now then return {2, chat - chat_tolerance - now} end
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
redis.call('SET', KEYS[1], string.format('%d', slot + interval), 'PX', math.ceil((slot - now) / 1000) + 1000)
chat = math.max(chat, slot) + chat_interval
redis.call('SET', KEYS[3], string.format('%d', chat), 'PX', math.ceil((chat - now) / 1000) + 1)
return {1, slot - now}
"""

# A 429's retry_after holds for the whole bot token: the pause key (never shortened) stops new bookings, and the
# message tells every process to drop the slots it already booked inside the pause.
FLOOD = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
redis.call('PUBLISH', ARGV[2], ms)
"""


class SharedPacer(Pacer):
    """The Pacer's rules for every process on one bot token: the global budget and the flood pause live in Redis
    (keys under `prefix` and the bot id), so N processes together send at most `rate` per second, and a 429 seen by
    one pauses all (the pause key for bookings, a published message for slots already booked).

    Per-chat spacing is kept in Redis too, in the same round trip: a chat's notifications come from the one notifier
    serving that chat, but a broadcast from another process may write to the same chat at the same moment. The
    answer-based spacing and the per-chat lock (one message to a chat in flight, in order) stay local, which is
    enough because one process serves a chat's notifications.

    Slots are spaced evenly at `headroom` below the limit; a sender that wakes too late for its slot books another,
    so no late request can crowd Telegram's one-second window. When Redis cannot be reached this process paces
    alone (the Pacer's rules) and says so in the log. Bound to the event loop of its first send.
    """

    def __init__(
        self, redis: Any, bot_id: int, rate: float = GLOBAL_RATE, per_chat: float = PER_CHAT_RATE, *,
        chat_burst: int = CHAT_BURST, headroom: float = SHARED_HEADROOM, prefix: str = "tg:pace",
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(rate, per_chat, chat_burst=chat_burst, headroom=headroom, clock=clock)
        self.redis = redis
        base = f"{prefix}:{{{bot_id}}}"  # one hash slot per bot: the script's keys stay together on a cluster
        self._slots, self._paused, self._chat_base = f"{base}:slot", f"{base}:pause", f"{base}:chat:"
        self._channel = f"{base}:flood"
        self._args = [round(self.interval * 1e6), round(self.chat_interval * 1e6), round(self.chat_tolerance * 1e6)]
        self._reserve = redis.register_script(RESERVE)
        self._announce = redis.register_script(FLOOD)
        self._listener: asyncio.Task | None = None
        self._warned = -WARN_EVERY
        self.slots = self.round_trips = self.late = self.heard = 0  # for benchmarks and tests

    async def _wait_turn(self, chat_id: int) -> list[float | None]:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._hear_floods())
        late = 0
        while True:
            now = self._clock()
            wait = max(self._pause_until - now, self._chat_wait(chat_id, now))
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                status, micros = await self._reserve(keys=[self._slots, self._paused, f"{self._chat_base}{chat_id}"],
                                                     args=self._args)
            except RedisError as e:
                self._warn(e)
                return await super()._wait_turn(chat_id)
            self.round_trips += 1
            wait = micros / 1e6
            slot = self._clock() + wait
            if status == 0:  # paused: the loop's first line waits the pause out
                self._pause_until = max(self._pause_until, slot)
                continue
            if wait > 0:
                await asyncio.sleep(wait)
            if status == 2:  # the chat was not ready: ask again
                continue
            now = self._clock()
            if now < self._pause_until:  # another process met a 429 while we waited: this slot falls in its pause
                continue
            if now - slot > LATE and late < MAX_LATE:
                late += 1
                self.late += 1
                continue
            break
        self.slots += 1
        self._book_chat(chat_id, now)
        return [now, None]

    async def _flood(self, seconds: float) -> None:
        self.pause(seconds)
        try:
            await self._announce(keys=[self._paused], args=[max(1, round(seconds * 1000)), self._channel])
        except RedisError as e:
            self._warn(e)

    async def _hear_floods(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            async for message in pubsub.listen():
                self.heard += 1
                self._pause_until = max(self._pause_until, self._clock() + int(message["data"]) / 1000)
        except RedisError as e:  # the next send starts another listener; the pause key still stops bookings
            self._warn(e)
        finally:
            await pubsub.aclose()

    def _warn(self, e: RedisError) -> None:
        now = self._clock()
        if now - self._warned >= WARN_EVERY:  # the class name only: a Redis error may carry the URL's password
            self._warned = now
            log.warning("Redis unreachable for the shared Telegram pace (%s): this process paces alone",
                        type(e).__name__)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self.redis.aclose()


def make_pacer(bot: Bot, redis_url: str | None, rate: float = GLOBAL_RATE, per_chat: float = PER_CHAT_RATE,
               **shared: Any) -> Pacer:
    """This process's Pacer for `bot`, which `pacer_for(bot)` (the broadcast) returns too: without `redis_url` the
    in-process one, as before; with it a SharedPacer, so every process on this bot token shares one pace."""
    if not redis_url:
        return pacer_for(bot, rate, per_chat)
    from redis.asyncio import Redis

    return register(bot, SharedPacer(Redis.from_url(redis_url), bot.id, rate, per_chat, **shared))
