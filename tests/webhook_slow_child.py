"""Child process of tests/test_webhook.py: one webhook replica whose only handler takes TB_HANDLER_S seconds, then
answers "done". Configured from the environment (BOT_TOKEN, TELEGRAM_API_URL, WEBHOOK_URL, WEBHOOK_SECRET,
WEBHOOK_PORT); prints "serving" once the webhook is registered and "handling" when an update reaches the handler.

    python -m tests.webhook_slow_child
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Dispatcher
from aiogram.types import Message

from bot.app import make_bot
from bot.webhook import serve_webhook
from db.config import AppConfig


async def main() -> None:
    config = AppConfig()
    dp = Dispatcher()

    @dp.message()
    async def slow(message: Message) -> None:
        print("handling", flush=True)
        await asyncio.sleep(float(os.environ["TB_HANDLER_S"]))
        await message.answer("done")

    await serve_webhook(dp, make_bot(config), url=config.WEBHOOK_URL, secret=config.WEBHOOK_SECRET.get_secret_value(),
                        host="127.0.0.1", port=config.WEBHOOK_PORT, on_started=lambda: print("serving", flush=True))


if __name__ == "__main__":
    asyncio.run(main())
