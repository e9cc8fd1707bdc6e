"""The caller's strategy bots: ownership, lists, creation, settings changes and deletion with their audit rows,
positions and fills for the status views. The engine's control commands write their own audit rows; a settings
change is recorded in one shape by both (engine/settings_log.py)."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from bot.reads import fills_between, newest_fill_ts, positions_of, shown_bots
from bot.services import audit
from db.enums import BotKind, BotStatus, PositionSide
from db.models import ExchangeAccount, Order, Position, StrategyBot, User
from engine import settings_log
from engine.strategies import live_settings

__all__ = ["EDITABLE", "LIVE", "LIVE_EDIT", "HasHistory", "Position", "StrategyBot", "active_count", "change_settings",
           "create", "delete", "every", "fills_between", "live_allowed", "newest_fill_ts", "of_kind", "open_positions",
           "own", "position", "positions_of", "reload", "shown_bots"]

EDITABLE = (BotStatus.DRAFT, BotStatus.STOPPED, BotStatus.ERROR)  # every setting changes, through change_settings
LIVE_EDIT = (BotStatus.RUNNING, BotStatus.PAUSED)  # live-safe settings change, through the engine's update_settings
LIVE = (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.ERROR, BotStatus.STOPPING)  # may hold orders or a position


class HasHistory(Exception):
    """A bot with orders keeps them and their fills for the books: it cannot be deleted."""


async def own(user: User, bot_id: int) -> StrategyBot | None:
    """The bot if it belongs to `user`, else None (missing and someone else's look the same)."""
    return await StrategyBot.get_or_none(id=bot_id, user_id=user.id)


async def reload(b: StrategyBot) -> StrategyBot:
    """The row again, after the engine changed it."""
    await b.refresh_from_db()
    return b


async def of_kind(user: User, kind: BotKind) -> list[StrategyBot]:
    return list(await StrategyBot.filter(user_id=user.id, kind=kind).order_by("id"))


async def every(user: User) -> list[StrategyBot]:
    return list(await StrategyBot.filter(user_id=user.id).order_by("id"))


async def active_count(user: User) -> int:
    """Running and paused bots: what /stopall stops."""
    return await StrategyBot.filter(user_id=user.id, status__in=[BotStatus.RUNNING, BotStatus.PAUSED]).count()


async def position(b: StrategyBot) -> Position | None:
    return await Position.get_or_none(bot_id=b.id)


async def open_positions(user: User) -> list[Position]:
    """The user's positions that are not flat, each with its bot."""
    return list(await Position.filter(bot__user_id=user.id).exclude(side=PositionSide.FLAT).prefetch_related("bot"))


async def create(user: User, account: ExchangeAccount, kind: BotKind, symbol: str, settings: dict) -> StrategyBot:
    async with in_transaction():
        b = await StrategyBot.create(user=user, account=account, kind=kind, symbol=symbol, settings=settings)
        await audit.record(user, "bot.create", "bot", b.id, {"kind": kind.value, "symbol": symbol})
    return b


async def change_settings(b: StrategyBot, user: User, changes: dict[str, Any], action: str,
                          details: dict | None = None) -> dict[str, list]:
    """Merge `changes` into a stopped bot's settings and record who did it, in one transaction; returns the diff."""
    return await settings_log.save(b, {**b.settings, **changes}, actor=user.telegram_id, action=action,
                                   extra=details)


async def live_allowed(b: StrategyBot) -> frozenset[str] | None:
    """The settings a running or paused bot may change now (engine/strategies/live_settings.py); None when every one
    may (the bot is not trading)."""
    if b.status not in LIVE_EDIT:
        return None
    pos = await position(b)
    flat = pos is None or pos.side == PositionSide.FLAT or not pos.size
    return live_settings.allowed(BotKind(b.kind).value, flat=flat)


async def delete(b: StrategyBot, user: User) -> None:
    """Delete a bot that never placed an order (HasHistory otherwise)."""
    async with in_transaction():
        if await Order.filter(bot_id=b.id).exists():
            raise HasHistory(b.id)
        bot_id = b.id
        await b.delete()
        await audit.record(user, "bot.delete", "bot", bot_id)
