"""The caller's row and the /status, /balance, /pnl reads as fixed SQL: Tortoise spends ~5x the query building it."""

from __future__ import annotations

from typing import Any

from tortoise import Model

from db import sqlite_reader
from db.enums import BotStatus
from db.models import ExchangeAccount, Fill, Position, StrategyBot, User

_sql: dict[tuple[str, str], str] = {}  # (dialect, statement name) -> SQL with that dialect's placeholders
_BY_KEYS = {"positions": (Position, "positions", "bot_id"), "users": (User, "users", "telegram_id")}  # ... IN (...)
_CHUNK = 64  # keys per IN (...) on SQLite


def _columns(model: type[Model], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in model._meta.db_fields)


def _template(name: str) -> str:
    """`name`'s SQL with `{}` for each parameter (built after Tortoise.init: the models' columns are known then)."""
    if name == "bots":
        return (f'SELECT {_columns(StrategyBot)} FROM "strategy_bots" WHERE "user_id" = {{}} AND "status" <> {{}} '
                'ORDER BY "id"')
    if name == "accounts":
        return (f'SELECT {_columns(ExchangeAccount)} FROM "exchange_accounts" WHERE "user_id" = {{}} '
                "AND NOT (\"label\" LIKE {} ESCAPE '\\') ORDER BY \"id\"")
    if name == "fills":
        return ('SELECT f."ts", f."realized_pnl", f."fee", o."symbol" FROM "fills" f JOIN "exchange_accounts" a '
                'ON a."id" = f."account_id" JOIN "orders" o ON o."id" = f."order_id" '
                'WHERE a."user_id" = {} AND f."ts" >= {} AND f."ts" < {}')
    if name == "newest_fill":
        return ('SELECT MAX(f."ts") AS "ts" FROM "fills" f JOIN "exchange_accounts" a '
                'ON a."id" = f."account_id" WHERE a."user_id" = {}')
    raise KeyError(name)


def _statement(conn: Any, name: str) -> str | None:
    """`name`'s SQL for this connection's dialect (None for a dialect we have no placeholders for)."""
    dialect = conn.capabilities.dialect
    sql = _sql.get((dialect, name))
    if sql is None:
        if dialect == "sqlite":
            marks = ["?"] * 4
        elif dialect == "postgres":
            marks = [f"${i}" for i in range(1, 5)]
        else:
            return None
        sql = _sql[(dialect, name)] = _template(name).format(*marks)
    return sql


async def _models(model: type[Model], name: str, params: list, orm) -> list:
    conn = model._meta.db
    sql = _statement(conn, name)
    if sql is None:
        return list(await orm())
    return [model._init_from_db(**row) for row in await _rows(conn, sql, params)]


def _in_statement(dialect: str, name: str, n_params: int) -> str:
    """`name`'s rows whose key is a parameter: `= ANY($1)` on PostgreSQL (one prepared statement for any number of
    keys), `IN (?, …)` of `n_params` on SQLite."""
    key = (dialect, name if dialect == "postgres" else f"{name}/{n_params}")
    sql = _sql.get(key)
    if sql is None:
        model, table, column = _BY_KEYS[name]
        test = "= ANY($1)" if dialect == "postgres" else f"IN ({', '.join('?' * n_params)})"
        sql = _sql[key] = f'SELECT {_columns(model)} FROM "{table}" WHERE "{column}" {test}'
    return sql


async def _by_keys(name: str, keys: list[int]) -> list:
    """The rows of `name`'s table whose key is in `keys` (SQLite: at most 64 keys per statement)."""
    model, _, column = _BY_KEYS[name]
    conn = model._meta.db
    dialect = conn.capabilities.dialect
    if dialect == "postgres":
        batches = [[keys]] if keys else []
    elif dialect == "sqlite":
        batches = [keys[i: i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
    else:
        return list(await model.filter(**{f"{column}__in": keys}))
    out: list = []
    for params in batches:
        sql = _in_statement(dialect, name, len(params))
        out += [model._init_from_db(**row) for row in await _rows(conn, sql, params)]
    return out


async def _rows(conn: Any, sql: str, params: list) -> list:
    """The rows as mappings: on SQLite from the read connection beside Tortoise's (db/sqlite_reader.py)."""
    if conn.capabilities.dialect == "sqlite":
        rows = await sqlite_reader.fetch(conn, sql, params)
        if rows is not None:
            return [dict(r) for r in rows]
    return await conn.execute_query_dict(sql, params)


async def users_by_telegram_ids(telegram_ids: list[int]) -> list[User]:
    """`User.filter(telegram_id__in=telegram_ids)`."""
    return await _by_keys("users", telegram_ids)


async def shown_bots(user: User) -> list[StrategyBot]:
    """The user's bots except drafts, oldest first: `StrategyBot.filter(user=user).exclude(status=DRAFT)`."""
    return await _models(StrategyBot, "bots", [user.id, BotStatus.DRAFT.value], lambda: StrategyBot.filter(
        user_id=user.id).exclude(status=BotStatus.DRAFT).order_by("id"))


async def positions_of(bot_ids: list[int]) -> list[Position]:
    """`Position.filter(bot_id__in=bot_ids)`."""
    return await _by_keys("positions", bot_ids)


async def accounts_without_prefix(user: User, prefix: str) -> list[ExchangeAccount]:
    """The user's accounts whose label does not start with `prefix` (no LIKE wildcards in it), oldest first."""
    if "%" in prefix or "_" in prefix or "\\" in prefix:
        return list(await ExchangeAccount.filter(user_id=user.id).exclude(label__startswith=prefix).order_by("id"))
    return await _models(ExchangeAccount, "accounts", [user.id, f"{prefix}%"], lambda: ExchangeAccount.filter(
        user_id=user.id).exclude(label__startswith=prefix).order_by("id"))


async def fills_between(user: User, since_ms: int, until_ms: int) -> list[tuple[int, Any, Any, str]]:
    """(ts, realized_pnl, fee, symbol of its order) of every fill on the user's accounts with since <= ts < until."""
    conn = Fill._meta.db
    sql = _statement(conn, "fills")
    if sql is None:
        return list(await Fill.filter(account__user_id=user.id, ts__gte=since_ms, ts__lt=until_ms).values_list(
            "ts", "realized_pnl", "fee", "order__symbol"))
    pnl, fee = Fill._meta.fields_map["realized_pnl"], Fill._meta.fields_map["fee"]
    rows = await _rows(conn, sql, [user.id, since_ms, until_ms])
    return [(int(r["ts"]), pnl.to_python_value(r["realized_pnl"]), fee.to_python_value(r["fee"]), r["symbol"])
            for r in rows]


async def newest_fill_ts(user: User) -> int | None:
    """The timestamp of the user's newest fill (market time on a replay), or None without fills."""
    conn = Fill._meta.db
    sql = _statement(conn, "newest_fill")
    if sql is None:
        fill = await Fill.filter(account__user_id=user.id).order_by("-ts").first()
        return None if fill is None else int(fill.ts)
    rows = await _rows(conn, sql, [user.id])
    ts = rows[0]["ts"] if rows else None
    return None if ts is None else int(ts)
