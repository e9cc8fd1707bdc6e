"""Writing notifications to the outbox inside the caller's transaction, deduplicated by the event's identity."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models import Notification
from engine.notices import Notice, dedup

__all__ = ["dedup", "notify"]


async def notify(user_id: int, notice: Notice | str, payload: dict[str, Any] | None = None,
                 dedup_key: str | None = None, *, conn: BaseDBAsyncClient | None = None) -> None:
    """Record one notice (engine/notices.py) for the user; a second call for the same event changes nothing (no
    error, no duplicate). The engine passes a Notice; a kind with a raw payload and dedup key is for tests and
    benchmarks that write rows of their own.

    Inserting with ON CONFLICT DO NOTHING keeps an enclosing PostgreSQL transaction usable, which catching
    an IntegrityError would not.
    """
    if isinstance(notice, Notice):
        kind, payload, dedup_key = notice.kind, notice.payload(), notice.dedup_key()
    else:
        kind = notice
        if payload is None or dedup_key is None:
            raise TypeError("a raw notification needs its payload and dedup key")
    await Notification.bulk_create(
        [Notification(user_id=user_id, kind=kind, payload=payload, dedup_key=dedup_key)],
        ignore_conflicts=True,
        using_db=conn,
    )
