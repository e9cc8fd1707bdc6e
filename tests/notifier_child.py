"""Child process of the notifier worker tests (tests/test_notifier_workers.py): one notifier serving the shared
outbox to the Bot API stand-in until SIGTERM (then it prints how many rows it sent) or SIGKILL.

    python -m tests.notifier_child DB_URL API_BASE_URL
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.i18n import make_i18n
from bot.notifier import Notifier
from bot.pacing import Pacer
from db.database import connect, disconnect

TOKEN = "42:TEST"
BEAT, DEAD_AFTER = 0.3, 1.5  # what the test expects a dead worker's rows to wait at most


async def main(url: str, api: str) -> None:
    await connect(url, apply_migrations=False)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    notifier = Notifier(bot, i18n=make_i18n(), pacer=Pacer(150, 20), batch=10, poll=0.05, beat=BEAT,
                        dead_after=DEAD_AFTER)
    task = asyncio.create_task(notifier.run_forever())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(f"ready {notifier._token}", flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    print(f"sent {notifier.sent}", flush=True)
    await bot.session.close()
    await disconnect()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
