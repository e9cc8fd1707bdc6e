"""Connecting Tortoise to the configured database and applying the checked-in Aerich migrations."""

from __future__ import annotations

import logging
from pathlib import Path

from aerich import Command
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
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


def _runtime_config(url: str) -> dict:
    """`tortoise_config`, through db/pg_client.py (PostgreSQL's pool giving connections back without asyncpg's reset
    query) and db/sqlite_client.py: on both, a transaction whose opening fails or is cancelled gives its connection
    back (db/tx_entry.py)."""
    config = tortoise_config(url)
    name = url.split(":", 1)[0]
    expanded = expand_db_url(url)
    if expanded["engine"] == "tortoise.backends.asyncpg":
        expanded["credentials"]["reset"] = _keep_session
        expanded["engine"] = "db.pg_client"
        config["connections"][name] = expanded
    elif expanded["engine"] == "tortoise.backends.sqlite":
        expanded["engine"] = "db.sqlite_client"
        config["connections"][name] = expanded
    return config


async def _keep_session(_connection) -> None:
    """A released connection's reset: none beyond asyncpg's own (an open transaction rolled back). The default
    sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, a round trip after every query made
    outside a transaction, for session state that nothing here leaves: advisory locks are transaction-level
    (engine/runtime/pg_locks.py, bot/notifier_claim.py), and no cursor, LISTEN or SET outlives its transaction."""


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
        await ctx.init(config=_runtime_config(url))
    # The process's one context, seen from every task (aiogram handlers and scheduler jobs did not call init()),
    # and no task's own: nothing stale is left in a contextvar after disconnect().
    set_global_context(ctx)


async def disconnect() -> None:
    await Tortoise.close_connections()  # also drops the global context
