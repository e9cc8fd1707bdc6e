"""The caller's row and the /status, /balance, /pnl reads as fixed SQL: Tortoise spends ~5x the query building it."""

from __future__ import annotations

from typing import Any

from tortoise import Model

from db import sqlite_reader
from db.enums import BotStatus
from db.models import ExchangeAccount, Fill, Position, StrategyBot, User

_sql: dict[tuple[str, str], str] = {}  # (dialect, statement name) -> SQL with that dialect's placeholders


def _columns(model: type[Model], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in model._meta.db_fields)


def _template(name: str) -> str:
    """`name`'s SQL with `{}` for each parameter (built after Tortoise.init: the models' columns are known then)."""
    if name == "user":
        return f'SELECT {_columns(User)} FROM "users" WHERE "telegram_id" = {{}}'
    if name == "bots":
        return (f'SELECT {_columns(StrategyBot)} FROM "strategy_bots" WHERE "user_id" = {{}} AND "status" <> {{}} '
                'ORDER BY "id"')
    if name == "accounts":
        return (f'SELECT {_columns(ExchangeAccount)} FROM "exchange_accounts" WHERE "user_id" = {{}} '
                "AND NOT (\"label\" LIKE {} ESCAPE '\\') ORDER BY \"id\"")
    if name == "fills":
        return ('SELECT f."ts", f."realized_pnl", f."fee" FROM "fills" f JOIN "exchange_accounts" a '
                'ON a."id" = f."account_id" WHERE a."user_id" = {} AND f."ts" >= {}')
    raise KeyError(name)


def _statement(conn: Any, name: str, n_params: int = 0) -> str | None:
    """`name`'s SQL for this connection's dialect (None for a dialect we have no placeholders for)."""
    dialect = conn.capabilities.dialect
    key = (dialect, name if not n_params else f"{name}/{n_params}")
    sql = _sql.get(key)
    if sql is None:
        if dialect == "sqlite":
            marks = ["?"] * 64
        elif dialect == "postgres":
            marks = [f"${i}" for i in range(1, 65)]
        else:
            return None
        if name == "positions":
            sql = f'SELECT {_columns(Position)} FROM "positions" WHERE "bot_id" IN ({", ".join(marks[:n_params])})'
        else:
            sql = _template(name).format(*marks)
        _sql[key] = sql
    return sql


async def _models(model: type[Model], name: str, params: list, orm) -> list:
    conn = model._meta.db
    sql = _statement(conn, name, len(params) if name == "positions" else 0)
    if sql is None:
        return list(await orm())
    return [model._init_from_db(**row) for row in await _rows(conn, sql, params)]


async def _rows(conn: Any, sql: str, params: list) -> list:
    """The rows as mappings: on SQLite from the read connection beside Tortoise's (db/sqlite_reader.py)."""
    if conn.capabilities.dialect == "sqlite":
        rows = await sqlite_reader.fetch(conn, sql, params)
        if rows is not None:
            return [dict(r) for r in rows]
    return await conn.execute_query_dict(sql, params)


async def user_by_telegram_id(telegram_id: int) -> User | None:
    """`User.get_or_none(telegram_id=telegram_id)`."""
    rows = await _models(User, "user", [telegram_id], lambda: User.filter(telegram_id=telegram_id).limit(1))
    return rows[0] if rows else None


async def shown_bots(user: User) -> list[StrategyBot]:
    """The user's bots except drafts, oldest first: `StrategyBot.filter(user=user).exclude(status=DRAFT)`."""
    return await _models(StrategyBot, "bots", [user.id, BotStatus.DRAFT.value], lambda: StrategyBot.filter(
        user_id=user.id).exclude(status=BotStatus.DRAFT).order_by("id"))


async def positions_of(bot_ids: list[int]) -> list[Position]:
    """The positions of these bots (at most 64 ids per statement)."""
    out: list[Position] = []
    for i in range(0, len(bot_ids), 64):
        chunk = bot_ids[i: i + 64]
        out += await _models(Position, "positions", chunk, lambda chunk=chunk: Position.filter(bot_id__in=chunk))
    return out


async def accounts_without_prefix(user: User, prefix: str) -> list[ExchangeAccount]:
    """The user's accounts whose label does not start with `prefix` (no LIKE wildcards in it), oldest first."""
    if "%" in prefix or "_" in prefix or "\\" in prefix:
        return list(await ExchangeAccount.filter(user_id=user.id).exclude(label__startswith=prefix).order_by("id"))
    return await _models(ExchangeAccount, "accounts", [user.id, f"{prefix}%"], lambda: ExchangeAccount.filter(
        user_id=user.id).exclude(label__startswith=prefix).order_by("id"))


async def fills_since(user: User, since_ms: int) -> list[tuple[int, Any, Any]]:
    """(ts, realized_pnl, fee) of every fill on the user's accounts at or after `since_ms`."""
    conn = Fill._meta.db
    sql = _statement(conn, "fills")
    if sql is None:
        return list(await Fill.filter(account__user_id=user.id, ts__gte=since_ms).values_list(
            "ts", "realized_pnl", "fee"))
    pnl, fee = Fill._meta.fields_map["realized_pnl"], Fill._meta.fields_map["fee"]
    rows = await _rows(conn, sql, [user.id, since_ms])
    return [(int(r["ts"]), pnl.to_python_value(r["realized_pnl"]), fee.to_python_value(r["fee"])) for r in rows]
