"""The last-resort error handler: the user gets a short apology with an error id; the log has the same id."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from typing import Any

from aiogram import Bot
from aiogram.types import ErrorEvent

from bot.i18n import MergedI18n
from engine.runtime.events import alert_admins

log = logging.getLogger("bot.errors")


def new_error_id() -> str:
    return secrets.token_hex(4).upper()


def make_error_handler(i18n: MergedI18n):
    async def on_error(event: ErrorEvent, bot: Bot, **data: Any) -> bool:
        error_id = new_error_id()
        update = event.update
        log.error(
            "error %s handling update %s (%s): %s",
            error_id, update.update_id, update.event_type, type(event.exception).__name__,
            exc_info=event.exception,
        )
        user = data.get("db_user")
        try:  # the admins hear of it once per distinct error and 10 minutes; the user gets the apology regardless
            await alert_admins("handler_error", {"error_id": error_id, "error": type(event.exception).__name__,
                                                 "where": update.event_type,
                                                 "user": getattr(user, "telegram_id", None)},
                               (type(event.exception).__name__, update.event_type), int(time.time() * 1000))
        except Exception as e:  # the database may be what failed
            log.warning("error %s: the admins could not be told: %s", error_id, type(e).__name__)
        locale = getattr(user, "language", None) or i18n.default_locale
        text = i18n.gettext("common.error", locale=locale).format(error_id=error_id)
        query = update.callback_query
        if query is not None:  # unanswered when a filter failed; else the answer middleware has answered already
            with contextlib.suppress(Exception):
                await query.answer()
        chat = query.message.chat if query is not None and query.message is not None else \
            update.message.chat if update.message is not None else None
        try:
            if chat is not None:
                await bot.send_message(chat.id, text)
        except Exception as e:  # the apology itself failed (blocked, network): the log line is what remains
            log.warning("error %s: could not tell the user: %s", error_id, type(e).__name__)
        return True

    return on_error
