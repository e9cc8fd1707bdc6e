"""A bot's settings changes with their audit rows, in one shape whichever way a change is made (the editor of a
stopped bot, a live edit, a preset, a rollback): who, when, the diff {setting: [old, new]} and the settings before
and after; and that history read back, newest first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db.models import AuditLog, StrategyBot

ACTIONS = ("bot.setting", "bot.preset", "bot.rollback")  # the audit actions of a settings change
# What an action adds: the setting edited, the preset, the version rolled back to (its id and time), made live.
EXTRA = ("name", "preset", "to", "to_at", "live")


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    """{setting: [old, new]} for every setting whose value differs (a missing one is None)."""
    return {k: [before.get(k), after.get(k)] for k in (*before, *(k for k in after if k not in before))
            if before.get(k) != after.get(k)}


def details(before: Mapping[str, Any], after: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The audit row's details of a settings change."""
    return {**extra, "changes": diff(before, after), "before": dict(before), "after": dict(after)}


async def write_audit(row: StrategyBot, actor: int | None, action: str, info: dict, conn: BaseDBAsyncClient) -> None:
    await AuditLog.create(user_id=row.user_id, actor_telegram_id=actor, action=action,  # type: ignore[attr-defined]
                          object_type="bot", object_id=str(row.id), details=info, using_db=conn)


async def save(row: StrategyBot, after: dict[str, Any], *, actor: int | None, action: str,
               extra: Mapping[str, Any] | None = None, state: dict | None = None,
               also: Callable[[BaseDBAsyncClient], Awaitable[None]] | None = None) -> dict[str, list]:
    """Store `after` as the bot's settings (and `state` when given, and whatever `also` writes) with its audit row,
    in one transaction; returns the diff. Nothing is written when nothing changes. `actor`: the person's Telegram
    id."""
    before = dict(row.settings or {})
    changes = diff(before, after)
    if not changes:
        return changes
    fields = ["settings", "updated_at"] + (["state"] if state is not None else [])
    old_state = row.state
    row.settings = dict(after)
    if state is not None:
        row.state = state
    try:
        async with in_transaction() as conn:
            await row.save(using_db=conn, update_fields=fields)
            await write_audit(row, actor, action, details(before, after, **(extra or {})), conn)
            if also is not None:
                await also(conn)
    except BaseException:
        row.settings, row.state = before, old_state
        raise
    return changes


@dataclass(frozen=True, slots=True)
class Change:
    """One settings change of a bot, as its audit row holds it."""

    id: int
    at: datetime
    actor: int | None  # the Telegram id of who made it
    action: str
    changes: dict[str, list]
    before: dict[str, Any]
    after: dict[str, Any]
    extra: dict[str, Any]


def _change(row: AuditLog) -> Change | None:
    d = row.details if isinstance(row.details, dict) else {}
    if not isinstance(d.get("after"), dict) or not isinstance(d.get("changes"), dict):
        return None  # written before changes kept their settings: nothing to show or roll back to
    return Change(row.id, row.created_at, row.actor_telegram_id, row.action, d["changes"], d.get("before") or {},
                  d["after"], {k: d[k] for k in EXTRA if k in d})


def _rows(bot_id: int):
    return AuditLog.filter(object_type="bot", object_id=str(bot_id), action__in=list(ACTIONS))


async def history(bot_id: int, limit: int = 10) -> tuple[list[Change], int]:
    """The bot's newest `limit` settings changes, newest first, and how many it has in all."""
    rows = await _rows(bot_id).order_by("-id").limit(limit)
    return [c for r in rows if (c := _change(r)) is not None], await _rows(bot_id).count()


async def change(bot_id: int, change_id: int) -> Change | None:
    """One settings change of the bot (None when it is not one of the bot's)."""
    row = await _rows(bot_id).filter(id=change_id).first()
    return None if row is None else _change(row)
