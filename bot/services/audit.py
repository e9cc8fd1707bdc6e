"""The audit trail: one row per change a person made, written inside the change's own transaction; a bot's settings
changes read back as its history (engine/settings_log.py writes them)."""

from __future__ import annotations

from typing import Any

from db.models import AuditLog, User
from engine import settings_log
from engine.settings_log import Change

__all__ = ["Change", "record", "settings_change", "settings_history"]


async def record(user: User | None, action: str, object_type: str, object_id: Any, details: dict | None = None, *,
                 actor_telegram_id: int | None = None) -> None:
    """Who did `action` to which object. The actor is `user` unless another person acted on them (an admin)."""
    actor = actor_telegram_id if actor_telegram_id is not None else getattr(user, "telegram_id", None)
    await AuditLog.create(user=user, actor_telegram_id=actor, action=action, object_type=object_type,
                          object_id="" if object_id is None else str(object_id), details=details)


async def settings_history(bot_id: int, limit: int = 10) -> tuple[list[Change], int]:
    """A bot's settings changes, newest first (the caller owns the bot), and how many there are in all."""
    return await settings_log.history(bot_id, limit)


async def settings_change(bot_id: int, change_id: int) -> Change | None:
    """One settings change of the bot, or None for a stale or forged id."""
    return await settings_log.change(bot_id, change_id)
