"""The Bot API session: aiogram's aiohttp session that keeps its parsed response types alive."""

from __future__ import annotations

from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import Response, TelegramMethod

from bot.telegram_limits import TelegramLimits


class BotSession(AiohttpSession):
    """aiogram reads every reply as `Response[T]`, a pydantic generic class that pydantic caches only weakly; the
    garbage collector frees it between calls and the next call rebuilds it (milliseconds each, many times a second
    under load). Holding each `Response[T]` here keeps pydantic's cache warm; nothing else changes."""

    _response_types: ClassVar[dict[type, Any]] = {}  # shared by every session: one class per method

    def check_response(self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str) -> Any:
        kind = type(method)
        if kind not in self._response_types:
            self._response_types[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return super().check_response(bot, method, status_code, content)


def make_session(api_url: str) -> BotSession:
    """A session for the Bot API server at `api_url` (Telegram's, a self-hosted one or a local stand-in), keeping
    Telegram's length limits on every request (bot/telegram_limits.py)."""
    session = BotSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
    session.middleware(TelegramLimits())
    return session
