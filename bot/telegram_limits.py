"""Telegram's limits kept for every request the bot makes, in one place (a request middleware on the session).

Telegram refuses a message over 4,096 characters (UTF-16 code units), an empty one, a caption over 1,024 and a
callback answer over 200; the user would then get nothing. Here such text is cut to fit, with "…", and an empty
text becomes "…"; each cut is logged, as it means a message that should be shorter. The notifier splits long
notifications into parts itself before they get here.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageText,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)

from bot.notifier_split import utf16_len

log = logging.getLogger(__name__)

TEXT_LIMIT, CAPTION_LIMIT, CALLBACK_ANSWER_LIMIT = 4096, 1024, 200
ELLIPSIS = "…"


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units, ending in "…" when cut (never inside a surrogate pair)."""
    if utf16_len(text) <= limit:
        return text
    units = text.encode("utf-16-le")[: 2 * (limit - 1)]
    return units.decode("utf-16-le", errors="ignore") + ELLIPSIS


class TelegramLimits(BaseRequestMiddleware):
    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Any,
                       method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage | EditMessageText):
            method.text = self._fit(method, "text", method.text, TEXT_LIMIT, empty=ELLIPSIS)
        elif isinstance(method, SendPhoto | EditMessageCaption) and method.caption:
            method.caption = self._fit(method, "caption", method.caption, CAPTION_LIMIT)
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            method.text = self._fit(method, "text", method.text, CALLBACK_ANSWER_LIMIT)
        return await make_request(bot, method)

    @staticmethod
    def _fit(method: TelegramMethod[Any], field: str, text: str, limit: int, empty: str | None = None) -> str:
        if empty is not None and not text.strip():
            log.warning("%s with an empty %s: sent as %r", type(method).__name__, field, empty)
            return empty
        out = fit(text, limit)
        if out != text:
            log.warning("%s %s of %d characters cut to Telegram's %d", type(method).__name__, field,
                        utf16_len(text), limit)
        return out
