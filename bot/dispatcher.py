"""Builds the Dispatcher: feature routers, FSM storage, per-user language, throttling, users and errors."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.engine_port import EnginePort
from bot.errors import make_error_handler
from bot.i18n import LANGUAGES, MergedI18n, UserLanguageMiddleware, make_i18n
from bot.markets import ExchangeReader
from bot.metrics import UpdateMetrics
from bot.middlewares import DbUserMiddleware, PrivateChatsOnly, ThrottlingMiddleware
from bot.user_cache import UserCache
from db.vault import Vault

log = logging.getLogger(__name__)

# "status" right after "start": its commands are the most frequent; no earlier router takes a command it handles
# (the dialog steps skip commands) nor any of its buttons, so the order changes only how soon they match.
FEATURES = ("start", "status", "accounts", "new_bot", "bot_settings", "bot_actions", "backtest", "why",
            "notify_level")
OPTIONAL = ("bot.routers.admin",)  # the admin commands, when that module exists
# Updates handled at once (`start_polling(tasks_concurrency_limit=...)`): past it, polling waits and the backlog stays
# with Telegram. Unbounded, an overload pulled thousands of updates into memory and the garbage collector then cost
# more than the handlers (bench/updates.py: 3.2 → 1.8 ms of CPU per update at 600 updates/s offered).
POLLING_CONCURRENCY = 100
MENU_COMMANDS = ("start", "status", "positions", "balance", "pnl", "why", "backtest", "notifications", "stopall",
                 "cancel", "help")


# A dialog left half-way is forgotten after a week of silence (Redis only; the in-memory store ends with the process).
FSM_TTL = timedelta(days=7)
FINISH_UPDATES = 10.0  # s an update in hand may take to finish when polling stops (SIGTERM), as the notifier's


def make_storage(redis_url: str | None, prefix: str = "fsm") -> tuple[BaseStorage, BaseEventIsolation | None]:
    """The FSM store and the event isolation. With `redis_url` both live in Redis, shared by every replica: keys
    `<prefix>:<bot id>:<chat>:<user>:<destiny>:state|data|lock`, and a user's updates are handled one at a time
    whichever replica gets them (the lock is held for the handler; redis-py releases it after 60 s if its holder
    died). Without it: in memory, and aiogram's default (no isolation) for the one process that polls."""
    if not redis_url:
        return MemoryStorage(), None
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    keys = DefaultKeyBuilder(prefix=prefix, with_bot_id=True, with_destiny=True)
    storage = RedisStorage(redis, key_builder=keys, state_ttl=FSM_TTL, data_ttl=FSM_TTL)
    return storage, RedisEventIsolation(redis, key_builder=keys)


def feature_routers() -> list[Router]:
    """A fresh router of every feature (each module's `make_router()`), the fallback last."""
    routers = [importlib.import_module(f"bot.routers.{name}").make_router() for name in FEATURES]
    for module in OPTIONAL:
        try:
            routers.append(importlib.import_module(module).make_router())
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
    routers.append(importlib.import_module("bot.routers.fallback").make_router())
    return routers


def build_dispatcher(
    *,
    vault: Vault,
    engine: EnginePort,
    admin_ids: Iterable[int] = (),
    redis_url: str | None = None,
    default_language: str = "en",
    throttle_rate: float = 4.0,
    throttle_burst: int = 12,
    throttle_clock: Callable[[], float] = time.monotonic,
    i18n: MergedI18n | None = None,
    user_cache_size: int | None = None,
    fsm_prefix: str = "fsm",
    **workflow_data: Any,
) -> Dispatcher:
    """The whole chat side. Handlers receive `engine`, `exchanges` (an ExchangeReader), `vault`, `i18n`,
    `admin_ids`, `db_user` and `is_admin`; button handlers also `callback_answer` (every press is answered once,
    after its handler, by aiogram's CallbackAnswerMiddleware).

    User rows are cached in memory (`user_cache_size` rows; 10,000 by default) only while this process is the only
    one serving the chat: with `redis_url` set (bot replicas sharing a database) every update reads its row.
    `fsm_prefix` starts the Redis keys (tests give each run its own)."""
    i18n = i18n or make_i18n(default_language)
    admins = frozenset(int(a) for a in admin_ids)
    exchanges = ExchangeReader(engine, vault, workflow_data.get("exchange_urls"))
    storage, isolation = make_storage(redis_url, fsm_prefix)
    dp = Dispatcher(storage=storage, events_isolation=isolation, engine=engine, exchanges=exchanges, vault=vault,
                    i18n=i18n, admin_ids=admins, **workflow_data)
    dp.update.outer_middleware(UpdateMetrics())  # first: times everything after it, throttled updates too
    dp.update.outer_middleware(ThrottlingMiddleware(throttle_rate, throttle_burst, throttle_clock))
    if user_cache_size is None:
        user_cache_size = 0 if redis_url else 10_000
    dp.update.outer_middleware(PrivateChatsOnly(i18n, default_language))
    dp.update.outer_middleware(DbUserMiddleware(i18n, admins, default_language, UserCache(user_cache_size)))
    UserLanguageMiddleware(i18n, i18n_key="i18n").setup(dp)
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    dp.errors.register(make_error_handler(i18n))
    dp.include_routers(*feature_routers())
    dp.startup.register(set_commands)
    dp.shutdown.register(finish_updates)
    # aiogram's own first shutdown step closes the FSM storage and locks, which the updates in hand still use
    dp.shutdown.handlers.insert(0, dp.shutdown.handlers.pop())
    return dp


async def finish_updates(dispatcher: Dispatcher) -> None:
    """Polling stopped: the updates being handled finish (up to `FINISH_UPDATES` s) before the FSM storage, the
    per-user locks and the bot's session close under them."""
    # aiogram keeps the updates it handles as tasks but does not wait for them when polling stops
    in_hand = set(getattr(dispatcher, "_handle_update_tasks", ()))
    if in_hand:
        _, late = await asyncio.wait(in_hand, timeout=FINISH_UPDATES)
        if late:
            log.warning("%d update(s) still being handled after %.0f s; stopping anyway", len(late), FINISH_UPDATES)


async def set_commands(bot: Bot, i18n: MergedI18n) -> None:
    """The command menu in every language (`language_code`), plus the default-language menu for everyone else."""
    for lang in (None, *LANGUAGES):
        locale = lang or i18n.default_locale
        commands = [BotCommand(command=c, description=i18n.gettext(f"cmd.{c}", locale=locale)) for c in MENU_COMMANDS]
        try:
            await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
        except (TelegramNetworkError, TelegramServerError) as e:  # the menu is a nicety: polling retries by itself
            log.warning("the command menu could not be set (%s); it is set again on the next start", type(e).__name__)
            return
