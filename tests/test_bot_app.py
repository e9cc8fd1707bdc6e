"""The composition root runs: bot/app.py's run() wires engine, Dispatcher, catalogues and notifier against the
Bot API stand-in (TELEGRAM_API_URL) and a fresh SQLite file, answers /start, delivers the outbox, shuts down."""

from __future__ import annotations

import asyncio
import contextlib

from cryptography.fernet import Fernet

from bot.app import run
from bot.sandbox.bot_api import BotAPIStandIn
from db.config import AppConfig
from db.vault import Vault


async def test_run_wires_everything_and_stops_cleanly(tmp_path):
    api = await BotAPIStandIn().start()
    key = Fernet.generate_key().decode()
    config = AppConfig(BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, MASTER_KEY=key,
                       DATABASE_URL=f"sqlite://{tmp_path}/app.sqlite3", REDIS_URL=None, DEFAULT_LANGUAGE="ko",
                       HEALTH_PORT=0)
    started: list[bool] = []  # main() passes settle_heap here; the test process keeps its own collector settings
    task = asyncio.create_task(run(config, Vault([key]), on_started=lambda: started.append(True)))
    try:
        await api.next_call("getMe", timeout=30)  # start-up reaches Telegram first (bot/startup.py)
        await api.next_call("setMyCommands", timeout=30)  # the dispatcher's start-up, once polling begins
        assert started == [True]  # once everything is up, before polling
        await api.send_command(4242, "/start")
        hello = await api.next_call("sendMessage", chat_id=4242, timeout=10)
        assert "TradingBoost에 오신 것을 환영합니다" in hello.text  # DEFAULT_LANGUAGE for a new user

        from db.models import User
        from engine.runtime.outbox import write

        user = await User.get(telegram_id=4242)
        await write(user.id, "note", {"reason": "test"}, "app-test-1")
        told = await api.next_call("sendMessage", chat_id=4242, timeout=10)  # the notifier task delivers it
        assert told.text
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
        await api.stop()
    assert task.done()
