"""The chat's hot reads: callers' rows (read together by bot/user_loader.py) and what /status, /balance, /pnl show."""

# Public QuerySet API only; why not fixed SQL, with the figures: bench/README.md.

from __future__ import annotations

from decimal import Decimal

from db.enums import BotStatus
from db.models import Fill, Position, StrategyBot, User


async def users_by_telegram_ids(telegram_ids: list[int]) -> list[User]:
    """The users whose Telegram id is in `telegram_ids` (in no particular order)."""
    if not telegram_ids:
        return []
    return await User.filter(telegram_id__in=telegram_ids)


async def shown_bots(user: User) -> list[StrategyBot]:
    """The user's bots except drafts, oldest first."""
    return await StrategyBot.filter(user_id=user.id).exclude(status=BotStatus.DRAFT).order_by("id")


async def positions_of(bot_ids: list[int]) -> list[Position]:
    """The positions of these bots (in no particular order)."""
    if not bot_ids:
        return []
    return await Position.filter(bot_id__in=bot_ids)


async def fills_between(user: User, since_ms: int, until_ms: int) -> list[tuple[int, Decimal, Decimal, str]]:
    """(ts, realized_pnl, fee, symbol of its order) of every fill on the user's accounts with since <= ts < until."""
    return list(await Fill.filter(account__user_id=user.id, ts__gte=since_ms, ts__lt=until_ms).values_list(
        "ts", "realized_pnl", "fee", "order__symbol"))


async def newest_fill_ts(user: User) -> int | None:
    """The timestamp of the user's newest fill (market time on a replay), or None without fills."""
    newest = await Fill.filter(account__user_id=user.id).order_by("-ts").first().values_list("ts", flat=True)
    return None if newest is None else int(newest)
