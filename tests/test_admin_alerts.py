"""Errors reach the admins: a handler error or a bot error sends each admin one alert (error id, bot, user, what
happened), once per distinct error and 10 minutes; admins are the ADMIN_IDS, synced into User.role at start-up."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot
from aiogram.types import Chat, ErrorEvent, Message, Update
from aiogram.types import User as TgUser

from bot.app import make_bot
from bot.errors import make_error_handler
from bot.i18n import make_i18n
from bot.sandbox.bot_api import BotAPIStandIn
from bot.startup import sync_admins
from db.config import AppConfig
from db.enums import Role
from db.models import Notification, User
from engine.runtime import events


async def _alerts(admin: User) -> list[dict]:
    return await Notification.filter(user_id=admin.id, kind="admin_alert").order_by("id").values_list("payload",
                                                                                                      flat=True)


async def test_admins_are_synced_from_admin_ids(db):
    a = await User.create(telegram_id=1, role=Role.ADMIN)  # no longer in ADMIN_IDS
    b = await User.create(telegram_id=2)
    await sync_admins((2, 3))
    assert [(await User.get(id=u.id)).role for u in (a, b)] == [Role.USER, Role.ADMIN]


async def test_a_bot_error_reaches_each_admin_once_per_distinct_error(db):
    admin = await User.create(telegram_id=10, role=Role.ADMIN)
    owner = await User.create(telegram_id=11)
    await User.create(telegram_id=12)  # not an admin: hears nothing
    t = 1_800_000_000_000
    for _ in range(3):
        await events.bot_error(owner.id, 7, "BTC/USDT", "KeyError", "candle", t)
    await events.bot_error(owner.id, 7, "BTC/USDT", "ValueError", "candle", t + 1000)
    await events.bot_error(owner.id, 7, "BTC/USDT", "KeyError", "candle", t + events.ALERT_WINDOW_MS)
    got = await _alerts(admin)
    assert [(p["error"], p["bot_id"], p["user"], p["where"]) for p in got] == [
        ("KeyError", 7, 11, "candle"), ("ValueError", 7, 11, "candle"), ("KeyError", 7, 11, "candle")]
    assert await Notification.filter(kind="admin_alert").count() == 3


async def test_a_handler_error_tells_the_user_its_id_and_the_admins_once(db):
    admin = await User.create(telegram_id=20, role=Role.ADMIN)
    user = await User.create(telegram_id=21)
    api = await BotAPIStandIn().start()
    bot: Bot = make_bot(AppConfig(BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url))
    on_error = make_error_handler(make_i18n("en"))
    try:
        for n in range(2):
            msg = Message(message_id=n + 1, date=datetime.now(UTC), chat=Chat(id=21, type="private"),
                          from_user=TgUser(id=21, is_bot=False, first_name="u"), text="/status")
            await on_error(ErrorEvent(update=Update(update_id=n + 1, message=msg), exception=RuntimeError("x")),
                           bot, db_user=user)
        apologies = [c.text for c in api.calls("sendMessage", chat_id=21)]
    finally:
        await bot.session.close()
        await api.stop()
    alerts = await _alerts(admin)
    assert len(apologies) == 2 and len(alerts) == 1
    assert alerts[0]["error_id"] in apologies[0] and alerts[0]["user"] == 21
    assert (alerts[0]["what"], alerts[0]["error"], alerts[0]["where"]) == ("handler_error", "RuntimeError", "message")
