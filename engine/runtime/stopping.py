"""Stopping a bot: its orders cancelled, its position closed at market or kept, told; and the audit row of an action."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from db.enums import BotStatus, OrderStatus
from db.models import AuditLog, Order, StrategyBot
from engine.notices import BotStopped, MarketInfo
from engine.runtime.bots import BotHandle
from engine.runtime.locks import SymbolLocks
from engine.runtime.orders import OPEN_STATES
from engine.runtime.outbox import notify
from engine.runtime.registry import Registry


def wall_ms() -> int:
    """Order rows are stamped with wall time (created_at), whatever clock the market runs on."""
    return int(time.time() * 1000)


def now() -> datetime:
    return datetime.now(UTC)


async def audit(user_id: int, action: str, bot_id: int, **details) -> None:
    await AuditLog.create(user_id=user_id, action=action, object_type="bot", object_id=str(bot_id), details=details)


async def cancel_all(h: BotHandle) -> int:
    """Every open order of the bot cancelled (those of unknown outcome resolved first); returns how many."""
    n = 0
    wall = wall_ms()
    for r in await Order.filter(bot_id=h.id, status__in=list(OPEN_STATES)).order_by("id"):
        if r.status != OrderStatus.OPEN:
            r = await h.life.resolve_unknown(r, wall)
        if r.status == OrderStatus.OPEN:
            r = await h.life.cancel(r)
            n += r.status == OrderStatus.CANCELED
    return n


async def stop_bot(registry: Registry, locks: SymbolLocks, row: StrategyBot, close_position: bool, *,
                   emergency: bool = False) -> None:
    """Cancel every order of the bot, then close its position (market, reduce-only) or leave it as it is. A bot
    whose close is out is STOPPING until it fills (`finish_stopping`), else STOPPED and out of the registry."""
    if row.status in (BotStatus.STOPPED, BotStatus.DRAFT):
        return
    h = registry.handles.get(row.id) or await registry.attach(row)
    async with locks.hold(h.account_id, h.symbol):
        cancelled = await cancel_all(h)
        sent = await h.runner.stop(h, close_position)
        status = BotStatus.STOPPING if sent else BotStatus.STOPPED
        await h.save(status=status)
        await StrategyBot.filter(id=h.id).update(stopped_at=now())
        await notify(h.user_id, BotStopped(bot_id=h.id, symbol=h.symbol, kind=h.kind.value,
                                           close_position=close_position, cancelled=cancelled, closed=sent,
                                           emergency=emergency, market=MarketInfo.of(h.market),
                                           started_ms=h.rt.started_ms or 0))
        if status == BotStatus.STOPPED:
            registry.detach(h.id)
    await audit(h.user_id, "bot.stop_all" if emergency else "bot.stop", h.id, close_position=close_position,
                cancelled=cancelled, closed=str(sent))


async def finish_stopping(registry: Registry, h: BotHandle) -> None:
    """A STOPPING bot becomes STOPPED once none of its orders is open any more (its close filled)."""
    if await Order.filter(bot_id=h.id, status__in=list(OPEN_STATES)).exists():
        return
    await h.save(status=BotStatus.STOPPED)
    registry.detach(h.id)
