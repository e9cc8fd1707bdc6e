"""Connecting Tortoise to the configured database and applying the checked-in Aerich migrations."""

from __future__ import annotations

import logging
from pathlib import Path

from aerich import Command
from tortoise import Tortoise
from tortoise.context import TortoiseContext, set_global_context

log = logging.getLogger(__name__)

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
MODELS = ["db.models", "aerich.models"]


def tortoise_config(url: str) -> dict:
    # Tortoise caches prepared SQL per connection *name*, so each dialect gets its own name; otherwise
    # SQLite's statements would be reused on PostgreSQL in one process (the tests use both).
    name = url.split(":", 1)[0]
    return {
        "connections": {name: url},
        "apps": {"models": {"models": MODELS, "default_connection": name}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite://") and ":memory:" not in url:
        Path(url.removeprefix("sqlite://").split("?")[0]).parent.mkdir(parents=True, exist_ok=True)


async def migrate(url: str) -> list[str]:
    """Apply every migration the database lacks, in an isolated ORM context; returns the versions applied."""
    _ensure_sqlite_folder(url)
    async with TortoiseContext(), Command(tortoise_config(url), app="models", location=MIGRATIONS) as command:
        await command.init()
        applied = await command.upgrade(run_in_transaction=True)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    return applied


async def connect(url: str, *, apply_migrations: bool = True) -> None:
    """Open the connections (migrating first unless told not to)."""
    if apply_migrations:
        await migrate(url)
    _ensure_sqlite_folder(url)
    ctx = TortoiseContext()  # a fresh ORM context, not one left over from an earlier connect()
    with ctx:  # current while the models load (they look their connection up there); the caller's is restored after
        await ctx.init(config=tortoise_config(url))
    # The process's one context, seen from every task (aiogram handlers and scheduler jobs did not call init()),
    # and no task's own: nothing stale is left in a contextvar after disconnect().
    set_global_context(ctx)


async def disconnect() -> None:
    await Tortoise.close_connections()  # also drops the global context
