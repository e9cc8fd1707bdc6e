"""Router filters. They are coroutines on purpose: aiogram runs plain-function filters in a worker thread."""

from __future__ import annotations

from typing import Any

from db.models import User


async def accepted(event: Any, db_user: User | None = None) -> bool:
    """Only users who accepted the risk notice reach the trading features."""
    return db_user is not None and db_user.risk_accepted_at is not None


async def not_command(message: Any) -> bool:
    """Dialog steps read text, not commands: /stopall, /status, /cancel… keep working in the middle of a dialog."""
    return not (getattr(message, "text", None) or "").startswith("/")
