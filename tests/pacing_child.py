"""Child process of tests/test_pacing_shared.py: sends to the Bot API stand-in as fast as the shared pace allows.

    python -m tests.pacing_child REDIS_URL API_BASE_URL PREFIX SECONDS FIRST_CHAT

Prints "ready", starts on a line from stdin, sends one message to each of FIRST_CHAT, FIRST_CHAT + 1, ... from
SENDERS concurrent senders for SECONDS, then prints its counters as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from bot.pacing_shared import SharedPacer, make_pacer

TOKEN = "42:TEST"
SENDERS = 20


async def main(redis_url: str, api: str, prefix: str, seconds: str, first_chat: str) -> None:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    pacer = make_pacer(bot, redis_url, prefix=prefix)
    assert isinstance(pacer, SharedPacer)
    chats = itertools.count(int(first_chat))
    counts = {"ok": 0, "refused": 0}

    async def send(chat: int) -> None:
        try:
            await bot.send_message(chat, "x")
            counts["ok"] += 1
        except TelegramRetryAfter:
            counts["refused"] += 1
            raise

    async def sender() -> None:
        while True:
            chat = next(chats)
            await pacer.send(chat, lambda chat=chat: send(chat))

    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    tasks = [asyncio.create_task(sender()) for _ in range(SENDERS)]
    await asyncio.sleep(float(seconds))
    for t in tasks:
        t.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks)
    print(json.dumps({**counts, "slots": pacer.slots, "round_trips": pacer.round_trips, "late": pacer.late,
                      "pauses": pacer.pauses, "heard": pacer.heard}), flush=True)
    await pacer.aclose()
    await bot.session.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
