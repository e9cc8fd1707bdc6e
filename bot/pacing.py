"""Telegram's sending pace shared by every outgoing bulk message: one global rate, per-chat spacing, flood pauses."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from bot.metrics import TELEGRAM_429

T = TypeVar("T")

GLOBAL_RATE = 30.0  # messages per second to all chats (Telegram's bulk limit)
PER_CHAT_RATE = 1.0  # sustained messages per second to one chat
CHAT_BURST = 3  # a chat may receive this many at once before the 1/s spacing applies
HEADROOM = 0.98  # pace at 98% of a limit, so network jitter never lets a sliding-window counter see more
MAX_FLOOD_RETRIES = 20
WINDOW = 1.002  # Telegram's one-second window, plus a hair for clock granularity
IN_FLIGHT_POLL = 0.005  # how often to look whether a still-unanswered request got its answer


class Pacer:
    """Grants send slots: at most `rate` per second overall (spaced evenly with some headroom, and never more than
    `rate` in any one-second window however late requests travel), at most `per_chat` per second to one chat
    after a burst of `chat_burst`, and nothing at all while a flood pause (Telegram's retry_after) is running.
    Sends to one chat are serialised.

    Holds no loop-bound state between calls, so one instance may serve a bot for the whole process. It paces this
    process only: processes sharing a bot token share the pace through Redis (bot/pacing_shared.py).
    """

    def __init__(
        self, rate: float = GLOBAL_RATE, per_chat: float = PER_CHAT_RATE, *, chat_burst: int = CHAT_BURST,
        headroom: float = HEADROOM, clock: Callable[[], float] = time.monotonic,
    ):
        if rate <= 0 or per_chat <= 0 or chat_burst < 1:
            raise ValueError("rates must be positive and the burst at least 1")
        self.interval = 1.0 / (rate * headroom)
        # [granted, answered] of the last `rate` grants. A new grant waits until one second after the ANSWER to the
        # grant `rate` places back: Telegram counted that message before answering, so however late a request
        # travels, no one-second window on Telegram's side ever holds more than `rate` of ours.
        self._recent: deque[list[float | None]] = deque(maxlen=max(1, int(rate)))
        self.chat_interval = 1.0 / (per_chat * headroom)
        self.chat_tolerance = (chat_burst - 1) * self.chat_interval
        self._clock = clock
        self._next_slot = 0.0  # the earliest start of the next global slot
        self._pause_until = 0.0
        self._chat_tat: dict[int, float] = {}  # GCRA theoretical arrival time per chat
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_users: dict[int, int] = {}
        self.pauses = 0  # flood pauses seen, for benchmarks and tests

    def pause(self, seconds: float) -> None:
        """Stop every sender for `seconds` from now (Telegram's retry_after applies to the whole bot)."""
        self.pauses += 1
        self._pause_until = max(self._pause_until, self._clock() + seconds)

    def paused_for(self) -> float:
        return max(0.0, self._pause_until - self._clock())

    def _chat_wait(self, chat_id: int, now: float) -> float:
        tat = self._chat_tat.get(chat_id, now)
        return max(0.0, tat - self.chat_tolerance - now)

    async def _wait_turn(self, chat_id: int) -> list[float | None]:
        while True:
            now = self._clock()
            wait = max(self._pause_until - now, self._chat_wait(chat_id, now))
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            while len(self._recent) == self._recent.maxlen:
                answered = self._recent[0][1]
                now = self._clock()
                wait = IN_FLIGHT_POLL if answered is None else answered + WINDOW - now
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            now = self._clock()
            if now >= self._pause_until:  # a flood pause may have begun while we waited
                break
        entry: list[float | None] = [now, None]
        self._recent.append(entry)
        self._book_chat(chat_id, now)
        return entry

    def _book_chat(self, chat_id: int, now: float) -> None:
        self._chat_tat[chat_id] = max(self._chat_tat.get(chat_id, now), now) + self.chat_interval
        if len(self._chat_tat) > 10_000:  # forget chats whose spacing no longer matters
            self._chat_tat = {c: t for c, t in self._chat_tat.items() if t > now}

    async def _flood(self, seconds: float) -> None:
        """Telegram answered 429: pause every sender of this bot (here: of this process)."""
        self.pause(seconds)

    async def send(self, chat_id: int, call: Callable[[], Awaitable[T]]) -> T:
        """Run one Telegram call in its turn; a flood error pauses everyone and the same call is retried.

        Other errors propagate: `classify` tells what they mean.
        """
        self._chat_users[chat_id] = self._chat_users.get(chat_id, 0) + 1
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        try:
            async with lock:
                for _ in range(MAX_FLOOD_RETRIES):
                    entry = await self._wait_turn(chat_id)
                    try:
                        return await call()
                    except TelegramRetryAfter as e:
                        TELEGRAM_429.inc()
                        await self._flood(float(e.retry_after))
                    finally:
                        # Spacing counts from the answer too: the next message to this chat cannot overtake it.
                        entry[1] = answered = self._clock()
                        tat = self._chat_tat.get(chat_id, answered)
                        self._chat_tat[chat_id] = max(tat, answered + self.chat_interval)
                raise FloodLimitExceeded(f"still flood-limited after {MAX_FLOOD_RETRIES} pauses")
        finally:
            self._chat_users[chat_id] -= 1
            if not self._chat_users[chat_id]:  # no holder and no waiter: drop the lock (it may bind to a loop)
                del self._chat_users[chat_id]
                del self._chat_locks[chat_id]


class FloodLimitExceeded(Exception):
    """Telegram kept answering 429 although every retry_after was honoured."""


_pacers: dict[int, Pacer] = {}  # by Bot instance (a Bot compares equal to any Bot with the same token)


def pacer_for(bot: Bot, rate: float = GLOBAL_RATE, per_chat: float = PER_CHAT_RATE) -> Pacer:
    """The one Pacer of this Bot in this process, shared by the notifier and the broadcast (the rates apply when
    the first caller creates it). The composition root makes one Bot, so the bot token has one budget."""
    return _pacers.get(id(bot)) or register(bot, Pacer(rate, per_chat))


def register(bot: Bot, pacer: Pacer) -> Pacer:
    """Make `pacer` the one `pacer_for(bot)` returns from now on (bot/pacing_shared.make_pacer: the Redis one)."""
    key = id(bot)
    if key not in _pacers:
        weakref.finalize(bot, _pacers.pop, key, None)
    _pacers[key] = pacer
    return pacer
