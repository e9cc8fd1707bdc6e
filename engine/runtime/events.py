"""The notices the runtime writes about a bot (engine/notices.py has their models): notes, errors, admin alerts."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.enums import Role
from db.models import User
from engine.exchange.protocol import ExchangeError, ExchangeUnavailable, UnknownOutcome
from engine.notices import ALERT_WINDOW_MS, AdminAlert, BotError, MarketInfo, Note
from engine.runtime.outbox import notify

__all__ = ["ALERT_WINDOW_MS", "alert_admins", "bot_error", "note", "report"]

log = logging.getLogger(__name__)


async def note(h: Any, reason: str, details: dict, candle_ts: int, conn: BaseDBAsyncClient | None = None) -> None:
    """A strategy note of the bot `h` (a BotHandle)."""
    await notify(h.user_id, Note(bot_id=h.id, symbol=h.symbol, reason=reason, details=details, candle_ts=candle_ts,
                                 market=MarketInfo.of(h.market)), conn=conn)


async def bot_error(user_id: int, bot_id: int, symbol: str, error: str, where: str, now_ms: int) -> None:
    await notify(user_id, BotError(bot_id=bot_id, symbol=symbol, error=error, where=where, now_ms=now_ms))
    owner = await User.filter(id=user_id).values_list("telegram_id", flat=True)
    await alert_admins("bot_error", {"bot_id": bot_id, "symbol": symbol, "where": where, "error": error[:120],
                                     "user": owner[0] if owner else None}, (bot_id, where, error[:40]), now_ms)


async def alert_admins(what: str, payload: dict[str, Any], identity: tuple, now_ms: int) -> None:
    """One "admin_alert" per admin for this error (`identity`), at most once per ALERT_WINDOW_MS."""
    ids = tuple(str(p) for p in identity)
    for admin in await User.filter(role=Role.ADMIN, active=True).values_list("id", flat=True):
        await notify(admin, AdminAlert(what=what, **payload, identity=ids, now_ms=now_ms, admin_id=admin))


async def report(hs: list, e: Exception, where: str, now_ms: int) -> None:
    """A step of these bots (BotHandles) failed: logged, their orders re-synced on the next supervision, and the
    user told unless it is transient exchange trouble (which is only retried)."""
    reason = e.reason if isinstance(e, ExchangeError) else type(e).__name__
    log.warning("%s failed for bots %s: %s", where, [h.id for h in hs], reason,
                exc_info=not isinstance(e, ExchangeError))
    for h in hs:
        h.dirty = True
        if not isinstance(e, (ExchangeUnavailable, UnknownOutcome)):
            await bot_error(h.user_id, h.id, h.symbol, reason, where, now_ms)
