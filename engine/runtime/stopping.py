"""Stopping a bot: its orders cancelled, its position closed at market or kept, told; and the audit row of an action."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from db.enums import BotStatus, OrderRole, OrderStatus
from db.models import AuditLog, Fill, Order, StrategyBot
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
                   emergency: bool = False, now_ms: int = 0, card: list[int] | None = None) -> BotStatus:
    """Cancel every order of the bot, then close its position (market, reduce-only) or leave it as it is. A bot
    whose close is out is STOPPING until it fills (`finish_stopping`), else STOPPED and out of the registry; the
    stopped notice is written when it is STOPPED, so the closing fill is told first. Returns the new status."""
    if row.status in (BotStatus.STOPPED, BotStatus.DRAFT):
        return row.status
    async with locks.hold(row.account_id, row.symbol):
        if not registry.runs_bots:
            await row.refresh_from_db()  # as the workers left it
            if row.status in (BotStatus.STOPPED, BotStatus.DRAFT):
                return row.status
        h = await registry.current(row)
        cancelled = await cancel_all(h)
        # the stop's own close orders come after this id (ids grow; no clock to skew against the exchange's)
        before = await Order.filter(bot_id=h.id).order_by("-id").first().values_list("id", flat=True)
        sent = await h.runner.stop(h, close_position)
        h.rt.stopping = {"cancelled": cancelled, "closed": str(sent), "close_position": close_position,
                         "emergency": emergency, "card": card, "after_order": before or 0}
        if sent:
            await h.save(status=BotStatus.STOPPING)
        await StrategyBot.filter(id=h.id).update(stopped_at=now())
        if not sent:
            await _stopped(registry, h, now_ms)
        else:
            await registry.release(h)  # STOPPING: where workers run the bot, their supervision finishes the stop
    await audit(h.user_id, "bot.stop_all" if emergency else "bot.stop", h.id, close_position=close_position,
                cancelled=cancelled, closed=str(sent))
    return h.status


async def finish_stopping(registry: Registry, h: BotHandle, now_ms: int) -> None:
    """A STOPPING bot becomes STOPPED once none of its orders is open any more (its close filled)."""
    if await Order.filter(bot_id=h.id, status__in=list(OPEN_STATES)).exists():
        return
    await _stopped(registry, h, now_ms)


async def _stopped(registry: Registry, h: BotHandle, now_ms: int) -> None:
    """STOPPED, out of the registry, and told, with the run's summary."""
    asked = h.rt.stopping or {}
    h.rt.stopping = None
    await notify(h.user_id, BotStopped(
        bot_id=h.id, symbol=h.symbol, kind=h.kind.value, close_position=asked.get("close_position", False),
        cancelled=asked.get("cancelled", 0), closed=Decimal(asked.get("closed", 0)),
        emergency=asked.get("emergency", False),
        market=MarketInfo.of(h.market), card=asked.get("card"), started_ms=h.rt.started_ms or 0,
        **await run_summary(h, now_ms, after_order=asked.get("after_order"))))
    await h.save(status=BotStatus.STOPPED)
    await registry.detach(h.id)


async def run_summary(h: BotHandle, now_ms: int, *, after_order: int | None = None) -> dict:
    """What the run since the bot's start did: how long it held, its fills, their realised PnL and fees (those
    paid in the quote currency), and the average price of the closing fills the stop made (of orders after
    `after_order`: a close the strategy made earlier, a trend exit say, is no close of the stop's)."""
    since = h.rt.started_ms or 0
    rows = await Fill.filter(order__bot_id=h.id, ts__gte=since).values("price", "amount", "fee", "fee_currency",
                                                                       "realized_pnl", "order__role", "order_id")
    quote = {None, "", h.market.quote, getattr(h.market, "settle", None)}
    close = [(r["price"], r["amount"]) for r in rows
             if r["order__role"] == OrderRole.CLOSE and (after_order is None or r["order_id"] > after_order)]
    close_amount = sum((a for _, a in close), Decimal(0))
    return {"held_for": max(0, (now_ms - since) // 1000) if since else None, "trades": len(rows),
            "run_pnl": sum((r["realized_pnl"] for r in rows), Decimal(0)),
            "fees": sum((r["fee"] for r in rows if r["fee_currency"] in quote), Decimal(0)),
            "close_price": sum(p * a for p, a in close) / close_amount if close_amount else None}
