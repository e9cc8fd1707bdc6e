"""Writing notifications to the outbox inside the caller's transaction, deduplicated by the event's identity."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models import Notification


def dedup(kind: str, *identity: object) -> str:
    """The dedup key of an event: its kind and what identifies it, e.g. dedup("fill", account_id, trade_id)."""
    key = ":".join([kind, *(str(p) for p in identity)])
    if len(key) > 191:
        raise ValueError("dedup key too long")
    return key


async def notify(
    user_id: int, kind: str, payload: dict[str, Any], dedup_key: str, *, conn: BaseDBAsyncClient | None = None
) -> None:
    """Record one notification; a second call for the same event changes nothing (no error, no duplicate).

    Inserting with ON CONFLICT DO NOTHING keeps an enclosing PostgreSQL transaction usable, which catching
    an IntegrityError would not.
    """
    await Notification.bulk_create(
        [Notification(user_id=user_id, kind=kind, payload=payload, dedup_key=dedup_key)],
        ignore_conflicts=True,
        using_db=conn,
    )
