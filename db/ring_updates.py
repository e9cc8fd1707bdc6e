"""Bots' states written with their /why decisions appended in the database: each write carries the records made
since the last one (and rules added to the stored last record), never the whole ring, which the job that writes
neither reads nor sends. PostgreSQL appends in one statement for all the rows; SQLite (one process, tests) reads
the rings and writes them back in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.data import JSON_DUMPS, JSON_LOADS

from db.models import StrategyBot

# (bot id, its state or None to leave it, records made since the last write, rules added to the stored last record)
Write = tuple[int, dict | None, list | None, list | None]

# $2: the new records, $3: the rules for the stored last record; `last-{k}` keeps the newest k + 1
_PG_RING = """CASE WHEN $2::jsonb IS NULL AND ($3::jsonb IS NULL OR COALESCE(jsonb_array_length("decisions"), 0) = 0)
THEN "decisions" ELSE jsonb_path_query_array(
  CASE WHEN $3::jsonb IS NULL OR COALESCE(jsonb_array_length("decisions"), 0) = 0 THEN COALESCE("decisions", '[]')
  ELSE jsonb_set("decisions", '{{-1,rules}}', COALESCE("decisions"->-1->'rules', '[]') || $3::jsonb) END
  || COALESCE($2::jsonb, '[]'), '$[last-{k} to last]') END"""


def ring(stored: list | None, new: list | None, amends: list | None, keep: int) -> list | None:
    """The ring once `amends` are added to the rules of its last record and `new` appended, the newest `keep`."""
    base = list(stored or [])
    if amends and base:
        base[-1] = {**base[-1], "rules": [*base[-1].get("rules", []), *amends]}
    if not base and not new:
        return stored
    return [*base, *(new or [])][-keep:]


async def write_states(rows: Sequence[Write], keep: int, conn: BaseDBAsyncClient | None = None) -> None:
    """`rows` written, in `conn`'s transaction when given (otherwise in one of their own): one statement for all."""
    if not rows:
        return
    conn = conn or StrategyBot._meta.db
    if conn.capabilities.dialect == "postgres":
        sql = (f'UPDATE "strategy_bots" SET "state" = COALESCE($1::jsonb, "state"), '
               f'"decisions" = {_PG_RING.format(k=keep - 1)} WHERE "id" = $4')
        await conn.execute_many(sql, [[_dump(state), _dump(new), _dump(amends), pk] for pk, state, new, amends in rows])
        return
    ids = {pk for pk, _, new, amends in rows if new or amends}
    stored: dict[int, Any] = {}
    if ids:
        marks = ", ".join("?" * len(ids))
        _, found = await conn.execute_query(f'SELECT "id", "decisions" FROM "strategy_bots" WHERE "id" IN ({marks})',
                                            list(ids))
        stored = {r["id"]: None if r["decisions"] is None else JSON_LOADS(r["decisions"]) for r in found}
    await conn.execute_many(
        'UPDATE "strategy_bots" SET "state" = COALESCE(?, "state"), "decisions" = COALESCE(?, "decisions") '
        'WHERE "id" = ?',
        [[_dump(state), _dump(ring(stored.get(pk), new, amends, keep)) if pk in ids else None, pk]
         for pk, state, new, amends in rows])


def _dump(value: Any) -> str | None:
    return None if value is None else JSON_DUMPS(value)
