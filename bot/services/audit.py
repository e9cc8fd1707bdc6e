"""The audit trail: one row per change a person made, written inside the change's own transaction."""

from __future__ import annotations

from typing import Any

from db.models import AuditLog, User


async def record(user: User | None, action: str, object_type: str, object_id: Any, details: dict | None = None, *,
                 actor_telegram_id: int | None = None) -> None:
    """Who did `action` to which object. The actor is `user` unless another person acted on them (an admin)."""
    actor = actor_telegram_id if actor_telegram_id is not None else getattr(user, "telegram_id", None)
    await AuditLog.create(user=user, actor_telegram_id=actor, action=action, object_type=object_type,
                          object_id="" if object_id is None else str(object_id), details=details)
