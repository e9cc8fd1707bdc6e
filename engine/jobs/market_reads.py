"""What a market job reads of its bots: their lock keys before it takes the locks, then the bots with their Position
rows and their paper venues' stored versions under the locks. On PostgreSQL one fixed statement each, decoded here
rather than into the ORM's models: read through the ORM they cost 23 µs a bot for the keys and 47 + 32 µs for the
rows and their positions (50 bots a market), a third of a worker's whole job on a kept market; read here, 7 and
29 µs. SQLite (one process, tests) reads them through the ORM, and the venues' versions apart."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.fields.data import JSON_LOADS

from db.enums import BotKind, BotStatus, PositionSide
from db.models import Position, StrategyBot
from engine.runtime.bots import decode_settings
from engine.runtime.registry import ACTIVE, runner_for

_ACTIVE = [s.value for s in ACTIVE]

# A market's bots: their symbol and status (the (symbol, status) index), their account's venue. The account, and the
# position in _ROWS, are looked up by key for each bot found (OFFSET 0 keeps the planner from joining whole tables):
# joined, the planner scanned every account and every position for each job, 2 ms a job at 10,000 bots and growing
# with the service, against 50 look-ups (tests/test_market_reads.py)
_FROM = ('FROM "strategy_bots" b JOIN LATERAL (SELECT 1 FROM "exchange_accounts" x WHERE x."id" = b."account_id" '
         'AND x."exchange" = $3 AND x."market_type" = $4 OFFSET 0) x ON TRUE')
_WHERE = ' WHERE b."symbol" = $1 AND b."status" = ANY($2::varchar[])'
# the timeframe where the settings hold it as a string (as validated settings do), else the whole settings
_KEYS = ('SELECT b."account_id" AS a, b."kind" AS k, b."settings"->>\'timeframe\' AS tf, CASE WHEN '
         'jsonb_typeof(b."settings"->\'timeframe\') = \'string\' THEN NULL ELSE b."settings"::text END AS s '
         + _FROM + _WHERE)
_ROWS = ('SELECT b."id", b."user_id", b."account_id", b."kind", b."symbol", b."status", '
         'b."settings"::text AS settings, b."state"::text AS state, p."id" AS p_id, p."side" AS p_side, '
         'p."size" AS p_size, p."average_entry" AS p_average, p."realized_pnl" AS p_realized, p."fees" AS p_fees, '
         '(SELECT v."version" FROM "paper_venues" v WHERE v."account_id" = b."account_id") AS v_version '
         + _FROM + ' LEFT JOIN LATERAL (SELECT "id", "side", "size", "average_entry", "realized_pnl", "fees" FROM '
         '"positions" WHERE "bot_id" = b."id" OFFSET 0) p ON TRUE' + _WHERE + ' ORDER BY b."id"')


@dataclass(slots=True)
class PositionRow:
    """What attaching a bot uses of its Position row: its id and its books (`bots.book_of`)."""

    id: int
    side: PositionSide
    size: Decimal
    average_entry: Decimal | None
    realized_pnl: Decimal
    fees: Decimal


@dataclass(slots=True)
class BotRow:
    """What attaching a bot uses of its StrategyBot row (as `Registry.attach` reads a model), with its Position."""

    id: int
    user_id: int
    account_id: int
    kind: BotKind
    symbol: str
    status: BotStatus
    settings: dict
    state: dict | None
    position: PositionRow | None
    # the stored version of its account's paper venue, read with it (0: none stored; None: not read, on SQLite)
    venue_version: int | None = None


def timeframe_of(kind: BotKind, settings: dict) -> str:
    tf = settings.get("timeframe")  # stored settings were validated when written: the value is the model's
    return tf if isinstance(tf, str) else decode_settings(runner_for(kind).settings_model, settings).timeframe


def _of_market(venue: str, symbol: str) -> Any:
    exchange, market_type = venue.split(":", 1)
    return StrategyBot.filter(status__in=list(ACTIVE), symbol=symbol, account__exchange=exchange,
                              account__market_type=market_type)


def _postgres() -> bool:
    return StrategyBot._meta.db.capabilities.dialect == "postgres"


def _args(venue: str, symbol: str) -> list:
    exchange, market_type = venue.split(":", 1)
    return [symbol, _ACTIVE, exchange, market_type]


async def market_keys(venue: str, symbol: str, tf: str) -> set[tuple[int, str]]:
    """The (account, symbol) locks of the market's bots, read without the rows (read again under the locks)."""
    if _postgres():
        rows = await StrategyBot._meta.db.execute_query_dict(_KEYS, _args(venue, symbol))
        return {(r["a"], symbol) for r in rows
                if (r["tf"] if r["s"] is None else timeframe_of(BotKind(r["k"]), JSON_LOADS(r["s"]))) == tf}
    rows = await _of_market(venue, symbol).values_list("account_id", "kind", "settings")
    return {(account_id, symbol) for account_id, kind, settings in rows if timeframe_of(kind, settings) == tf}


async def market_rows(venue: str, symbol: str, tf: str) -> list[BotRow]:
    """The market's bots on `tf` in id order, each with its Position row (None: it has none yet)."""
    if _postgres():
        rows = [_bot_row(r) for r in await StrategyBot._meta.db.execute_query_dict(_ROWS, _args(venue, symbol))]
        return [r for r in rows if timeframe_of(r.kind, r.settings) == tf]
    bots = [r for r in await _of_market(venue, symbol).order_by("id") if timeframe_of(r.kind, r.settings) == tf]
    positions = {p.bot_id: p for p in await Position.filter(bot_id__in=[r.id for r in bots])} if bots else {}
    return [BotRow(r.id, r.user_id, r.account_id, r.kind, r.symbol, r.status, r.settings, r.state,
                   None if (p := positions.get(r.id)) is None else
                   PositionRow(p.id, p.side, p.size, p.average_entry, p.realized_pnl, p.fees)) for r in bots]


def _bot_row(r: dict) -> BotRow:
    position = None if r["p_id"] is None else PositionRow(r["p_id"], PositionSide(r["p_side"]), r["p_size"],
                                                          r["p_average"], r["p_realized"], r["p_fees"])
    return BotRow(r["id"], r["user_id"], r["account_id"], BotKind(r["kind"]), r["symbol"], BotStatus(r["status"]),
                  JSON_LOADS(r["settings"]), None if r["state"] is None else JSON_LOADS(r["state"]), position,
                  r["v_version"] or 0)
