"""Update-level middlewares: load or create the user's row (refusing blocked users) and per-user throttling."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types import User as TgUser

from bot.i18n import MergedI18n
from bot.reads import users_by_telegram_ids
from bot.user_cache import UserCache
from bot.user_loader import UserLoader
from db.enums import Role
from db.models import User

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)


class PrivateChatsOnly(BaseMiddleware):
    """The bot trades people's money: it talks only to a person in a private chat. In a group (an anonymous group
    admin writes as a bot) a command or a button gets one line saying so; anything else there is ignored."""

    def __init__(self, i18n: MergedI18n, default_language: str):
        self.i18n, self.default_language = i18n, default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat, tg = data.get("event_chat"), data.get("event_from_user")
        if (chat is None or chat.type == "private") and (tg is None or not tg.is_bot):
            return await handler(event, data)
        inner = event.event if isinstance(event, Update) else event
        lang = getattr(tg, "language_code", None)
        text = self.i18n.gettext("common.private_only",
                                 locale=lang if lang in self.i18n.available_locales else self.default_language)
        if isinstance(inner, Message) and (inner.text or "").startswith("/"):
            await inner.answer(text)
        elif isinstance(inner, CallbackQuery):
            await inner.answer(text, show_alert=True)
        return None


class DbUserMiddleware(BaseMiddleware):
    """Puts the caller's `User` row in `data["db_user"]` (created on first contact) and `data["is_admin"]`.

    Rows come from `cache` when it holds them (see bot/user_cache.py for how writes keep it coherent), else from
    the database, read together with the other updates' misses (bot/user_loader.py)."""

    def __init__(self, i18n: MergedI18n, admin_ids: frozenset[int], default_language: str,
                 cache: UserCache | None = None):
        self.i18n = i18n
        self.admin_ids = admin_ids
        self.default_language = default_language
        self.cache = cache if cache is not None else UserCache(size=0)
        self.loader = UserLoader(users_by_telegram_ids)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg: TgUser | None = data.get("event_from_user")
        if tg is None or tg.is_bot:
            return await handler(event, data)
        user = self.cache.get(tg.id)
        if user is None or not user.active or user.username != tg.username:
            epoch = self.cache.epoch
            user = await self.loader.get(tg.id)
            if user is not None and user.active and user.username == tg.username:
                self.cache.put(user, epoch)
        if user is None:
            lang = tg.language_code if tg.language_code in self.i18n.available_locales else self.default_language
            role = Role.ADMIN if tg.id in self.admin_ids else Role.USER  # start-up syncs the existing rows
            user, _ = await User.get_or_create(
                telegram_id=tg.id, defaults={"username": tg.username, "first_name": tg.first_name, "language": lang,
                                             "role": role}
            )
        elif not user.active or user.username != tg.username:
            user.active = True  # writing to us again means they no longer block the bot
            user.username = tg.username
            await user.save(update_fields=["active", "username", "updated_at"])
        is_admin = tg.id in self.admin_ids
        if user.blocked and not is_admin:
            await self._refuse(event, user)
            return None
        data["db_user"] = user
        data["is_admin"] = is_admin
        return await handler(event, data)

    async def _refuse(self, event: TelegramObject, user: User) -> None:
        text = self.i18n.gettext("common.blocked", locale=user.language)
        inner = event.event if isinstance(event, Update) else event
        if isinstance(inner, Message):
            await inner.answer(text)
        elif isinstance(inner, CallbackQuery):
            await inner.answer(text, show_alert=True)


class ThrottlingMiddleware(BaseMiddleware):
    """A token bucket per Telegram user: `rate` updates per second sustained, `burst` at once; excess is dropped.

    The user is told once per throttling episode (a message, or a button's popup, in their language): the first
    dropped update is answered with the limit, the rest of the episode silently. The episode ends when their bucket
    is full again, i.e. after a pause of `burst / rate` seconds. `clock` gives seconds (monotonic)."""

    def __init__(self, rate: float = 4.0, burst: int = 12, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._told: set[int] = set()  # users told in their current episode

    def allow(self, user_id: int) -> bool:
        now = self.clock()
        tokens, last = self._buckets.get(user_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= self.burst:
            self._told.discard(user_id)
        if tokens < 1:
            self._buckets[user_id] = (tokens, now)
            return False
        self._buckets[user_id] = (tokens - 1, now)
        if len(self._buckets) > 100_000:  # forget idle users now and then
            cutoff = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > cutoff}
            self._told &= self._buckets.keys()
        return True

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg: TgUser | None = data.get("event_from_user")
        if tg is not None and not self.allow(tg.id):
            inner = event.event if isinstance(event, Update) else event
            tell = tg.id not in self._told and isinstance(inner, Message | CallbackQuery)
            if tell:
                self._told.add(tg.id)
            try:
                if tell:
                    text = await self._slow_down(tg, data)
                    if isinstance(inner, CallbackQuery):
                        await inner.answer(text, show_alert=True)
                    else:
                        await inner.answer(text)
                elif isinstance(inner, CallbackQuery):
                    await inner.answer()
            except TelegramAPIError as e:  # the drop stands; telling is a courtesy
                log.info("throttled user %s not told: %s", tg.id, type(e).__name__)
            return None
        return await handler(event, data)

    async def _slow_down(self, tg: TgUser, data: dict[str, Any]) -> str:
        """The notice in the user's chosen language (read once per episode), else their Telegram's."""
        i18n: MergedI18n | None = data.get("i18n")
        rate = f"{self.rate:g}"
        if i18n is None:
            return f"Slow down: I handle at most {rate} messages a second from you; repeat what was dropped."
        rows = await users_by_telegram_ids([tg.id])
        lang = rows[0].language if rows else tg.language_code
        if lang not in i18n.available_locales:
            lang = i18n.default_locale
        return i18n.gettext("throttle.slow_down", locale=lang).format(rate=rate)
