"""Writing notifications to the outbox inside the caller's transaction, deduplicated by the event's identity."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models import Notification
from engine.notices import Notice, dedup

__all__ = ["dedup", "notify", "write"]


async def notify(user_id: int, notice: Notice, *, conn: BaseDBAsyncClient | None = None) -> None:
    """Record one notice (engine/notices.py) for the user; a second call for the same event changes nothing."""
    await write(user_id, notice.kind, notice.payload(), notice.dedup_key(), conn=conn)


async def write(user_id: int, kind: str, payload: dict[str, Any], dedup_key: str, *,
                conn: BaseDBAsyncClient | None = None) -> None:
    """One outbox row, unless a row with `dedup_key` exists (no error, no duplicate). The engine writes through
    `notify`; this is the row as the notifier reads it, whatever wrote it.

    Inserting with ON CONFLICT DO NOTHING keeps an enclosing PostgreSQL transaction usable, which catching
    an IntegrityError would not.
    """
    await Notification.bulk_create(
        [Notification(user_id=user_id, kind=kind, payload=payload, dedup_key=dedup_key)],
        ignore_conflicts=True,
        using_db=conn,
    )
