"""Admin commands (/stats, /user, /block, /unblock, /broadcast); for anyone not in ADMIN_IDS they do not exist."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiogram import Router
from aiogram.types import User as TgUser

from bot.routers import admin_broadcast, admin_users


async def is_admin(event: Any, event_from_user: TgUser | None = None, admin_ids: Iterable[int] = ()) -> bool:
    """True only for ids in the configured ADMIN_IDS (workflow data "admin_ids"). A coroutine, because aiogram runs
    plain-function filters in a worker thread on every update."""
    return event_from_user is not None and event_from_user.id in admin_ids


def make_router() -> Router:
    """A failing root filter leaves the update unhandled here, so it reaches the fallback router exactly like any
    unknown command would: non-admins cannot tell these commands apart from commands that do not exist."""
    router = Router(name="admin")
    router.message.filter(is_admin)
    router.callback_query.filter(is_admin)
    router.include_routers(admin_users.make_router(), admin_broadcast.make_router())
    return router
