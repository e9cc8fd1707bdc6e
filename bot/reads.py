"""The chat's hot reads: callers' rows (read together by bot/user_loader.py) and what /status, /balance, /pnl show."""

# The reads on every update or every /status and /pnl are fixed SQL through Tortoise's public Model.raw(): building
# the same query with the QuerySet API costs ~0.3 ms of CPU more per query, which on PostgreSQL moved
# bench/updates.py's CPU per update from ~1.0-1.15x to ~1.22-1.31x the echo anchor (bench/README.md). Model.raw takes
# no parameters: only integers (through int()) and fixed enum values are written into the SQL, never text from a
# user. The text-matching and tuple reads stay ORM queries.

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from db.enums import BotStatus
from db.models import ExchangeAccount, Fill, Position, StrategyBot, User


def _ints(values: Iterable[int]) -> str:
    """A SQL list of integers: each goes through int(), so nothing else can reach the statement."""
    return ", ".join(str(int(v)) for v in values)


async def users_by_telegram_ids(telegram_ids: list[int]) -> list[User]:
    """The users whose Telegram id is in `telegram_ids` (in no particular order)."""
    if not telegram_ids:
        return []
    return await User.raw(f'SELECT * FROM "users" WHERE "telegram_id" IN ({_ints(telegram_ids)})')


async def shown_bots(user: User) -> list[StrategyBot]:
    """The user's bots except drafts, oldest first."""
    return await StrategyBot.raw(f'SELECT * FROM "strategy_bots" WHERE "user_id" = {int(user.id)} '
                                 f"AND \"status\" <> '{BotStatus.DRAFT.value}' ORDER BY \"id\"")


async def positions_of(bot_ids: list[int]) -> list[Position]:
    """The positions of these bots (in no particular order)."""
    if not bot_ids:
        return []
    return await Position.raw(f'SELECT * FROM "positions" WHERE "bot_id" IN ({_ints(bot_ids)})')


async def accounts_without_prefix(user: User, prefix: str) -> list[ExchangeAccount]:
    """The user's accounts whose label does not start with `prefix`, oldest first."""
    return await ExchangeAccount.filter(user_id=user.id).exclude(label__startswith=prefix).order_by("id")


async def fills_between(user: User, since_ms: int, until_ms: int) -> list[tuple[int, Decimal, Decimal, str]]:
    """(ts, realized_pnl, fee, symbol of its order) of every fill on the user's accounts with since <= ts < until."""
    return list(await Fill.filter(account__user_id=user.id, ts__gte=since_ms, ts__lt=until_ms).values_list(
        "ts", "realized_pnl", "fee", "order__symbol"))


async def newest_fill_ts(user: User) -> int | None:
    """The timestamp of the user's newest fill (market time on a replay), or None without fills."""
    newest = await Fill.raw(f'SELECT f.* FROM "fills" f JOIN "exchange_accounts" a ON a."id" = f."account_id" '
                            f'WHERE a."user_id" = {int(user.id)} ORDER BY f."ts" DESC LIMIT 1')
    return int(newest[0].ts) if newest else None
