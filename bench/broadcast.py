"""Broadcast pace against the Bot API stand-in answering 429 above 30 messages/s: `python bench/broadcast.py`.

Target: at least 95% of Telegram's 30 messages/s bulk limit, nothing lost, nothing duplicated. The anchor is the
limit itself, enforced in the same run by the stand-in's sliding-window 429 limiter. `--notifier` measures the
outbox path instead (SQLite rows → Notifier → stand-in), one notification per user.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.pacing import GLOBAL_RATE, Pacer
from bot.routers.admin_broadcast import send_broadcast
from bot.sandbox.bot_api import BotAPIStandIn, RateLimit

LIMIT = GLOBAL_RATE


async def _outbox(bot: Bot, pacer: Pacer, chats: list[int]) -> None:
    from bot.i18n import make_i18n
    from bot.notifier import Notifier
    from db.database import connect, disconnect
    from db.models import User
    from engine.runtime.outbox import dedup, write

    with tempfile.TemporaryDirectory() as d:
        await connect(f"sqlite://{d}/bench.sqlite3")
        try:
            for chat in chats:
                u = await User.create(telegram_id=chat)
                await write(u.id, "fill", {"bot_id": 1, "symbol": "BTC/USDT", "side": "buy", "price": "65000",
                                            "amount": "0.001"}, dedup("fill", chat))
            await Notifier(bot, i18n=make_i18n(), pacer=pacer).drain_once()
        finally:
            await disconnect()


async def run(users: int, notifier: bool) -> int:
    api = await BotAPIStandIn(rate_limit=RateLimit(overall=LIMIT, per_chat=1, retry_after=1)).start()
    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    chats = list(range(10_000_000, 10_000_000 + users))
    pacer = Pacer(LIMIT)
    try:
        start = time.monotonic()
        if notifier:
            await _outbox(bot, pacer, chats)
        else:
            await send_broadcast(bot, pacer, chats, "Benchmark broadcast from TradingBoost")
        wall = time.monotonic() - start
        ok = api.calls("sendMessage", ok=True)
        refused = api.calls("sendMessage", ok=False)
    finally:
        await bot.session.close()
        await api.stop()
    per_chat = Counter(c.chat_id for c in ok)
    lost = sum(1 for c in chats if per_chat[c] == 0)
    duplicated = sum(n - 1 for n in per_chat.values() if n > 1)
    span = ok[-1].ts - ok[0].ts if len(ok) > 1 else float("nan")
    rate = (len(ok) - 1) / span
    ratio = rate / LIMIT
    path = "outbox → notifier" if notifier else "admin broadcast"
    print(f"path: {path}; users: {users}; limit: {LIMIT:.0f} messages/s (stand-in answers 429 above it)")
    print(f"delivered: {len(ok)} in {span:.2f} s (wall {wall:.2f} s incl. start-up)")
    print(f"messages/s: {rate:.2f}   ratio to {LIMIT:.0f}/s: {ratio:.3f}   (target >= 0.95)")
    print(f"lost: {lost}   duplicated: {duplicated}   429 answers: {len(refused)}   flood pauses: {pacer.pauses}")
    good = ratio >= 0.95 and lost == 0 and duplicated == 0
    print("PASS" if good else "BELOW TARGET")
    return 0 if good else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--notifier", action="store_true", help="measure the outbox path through the Notifier")
    args = p.parse_args()
    return asyncio.run(run(args.users, args.notifier))


if __name__ == "__main__":
    sys.exit(main())
