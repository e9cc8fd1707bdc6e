"""Rows of one table updated by primary key in one round trip: one UPDATE statement executed for every row (the
driver's executemany), where Tortoise's bulk_update builds a CASE term per row and column in Python (measured: most
of a busy candle close's CPU, bench/README.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


async def update_rows(model: type[Model], fields: Sequence[str], rows: Sequence[tuple[Any, Sequence[Any]]],
                      conn: BaseDBAsyncClient | None = None) -> None:
    """Rows of `model` given as (primary key, values of `fields`) written, in `conn`'s transaction when given
    (otherwise in one of their own); the values converted as Tortoise converts them (`to_db_value`)."""
    if not rows:
        return
    meta = model._meta
    conn = conn or meta.db
    postgres = conn.capabilities.dialect == "postgres"
    columns = [meta.fields_map[f].source_field or meta.fields_map[f].model_field_name for f in fields]
    sets = ", ".join(f'"{c}" = {f"${i}" if postgres else "?"}' for i, c in enumerate(columns, 1))
    where = f'"{meta.db_pk_column}" = {f"${len(columns) + 1}" if postgres else "?"}'
    converters = [meta.fields_map[f].to_db_value for f in fields]
    values = [[to_db(v, model) for v, to_db in zip(row, converters, strict=True)] + [pk] for pk, row in rows]
    await conn.execute_many(f'UPDATE "{meta.db_table}" SET {sets} WHERE {where}', values)
