"""GRID live: the ladder started, fills to counter orders, bounds/trailing/re-centring on closes, GridLevel rows."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db.enums import BotStatus, LevelState, OrderRole, OrderStatus
from db.models import Fill, GridLevel, Order
from engine.exchange.protocol import OrderType, Side
from engine.market.rules import market_rules
from engine.runtime import events
from engine.runtime.bots import BotHandle
from engine.runtime.outbox import dedup, notify
from engine.runtime.sync import SyncResult, Want, placeable, sync_resting, to_amount, to_price
from engine.strategies import grid
from engine.strategies.grid import GridCandle, GridState, MarketRules
from engine.strategies.grid_levels import IllegalTransition
from engine.strategies.intents import IntentKind

log = logging.getLogger(__name__)

RESTING = (OrderRole.GRID_ENTRY, OrderRole.GRID_EXIT)


def rules(h: BotHandle) -> MarketRules:
    return market_rules(h.market)


async def save_levels(h: BotHandle, before: GridState | None, conn: BaseDBAsyncClient | None) -> None:
    """GridLevel rows follow the strategy's levels; only changed ones are written."""
    s = h.strat
    if not isinstance(s, GridState):
        return
    old = {lvl.index: lvl for lvl in (before.levels if before else ())}
    for lvl in s.levels:
        if old.get(lvl.index) == lvl:
            continue
        values = {"price": Decimal(repr(lvl.price)), "state": LevelState(lvl.state)}
        n = await GridLevel.filter(bot_id=h.id, index=lvl.index).using_db(conn).update(**values)
        if not n:
            await GridLevel.create(bot_id=h.id, index=lvl.index, using_db=conn, **values)
    gone = set(old) - {lvl.index for lvl in s.levels}
    if gone:
        await GridLevel.filter(bot_id=h.id, index__in=list(gone)).using_db(conn).delete()


async def _persist(h: BotHandle, before: GridState | None, candle_ts: int, notes=()) -> None:
    async with in_transaction() as conn:
        await h.save(conn)
        await save_levels(h, before, conn)
        await h.save_position(conn)
        for reason, details in notes:
            await events.note(h, reason, details, candle_ts, conn)


async def start(h: BotHandle, price: float, c: GridCandle | None, now_ms: int) -> None:
    """Plan and arm the ladder. PlanRefused propagates (with its numbers) to the caller."""
    c = c or GridCandle(0, price, price, price)
    state, _ = grid.start(h.settings, rules(h), price, c.centre, c.atr, c.adx_state, index=c.index)
    h.strat = state
    h.meta["started_ms"] = now_ms
    await _persist(h, None, now_ms, state.notes)
    h.dirty = True


async def on_candle(h: BotHandle, c: GridCandle, candle_ts: int) -> None:
    if h.meta.get("candle", -1) >= candle_ts or not isinstance(h.strat, GridState):
        return
    before = h.strat
    h.meta["candle"] = candle_ts
    if h.status == BotStatus.PAUSED or before.stopped:
        await h.save()
        return
    c = replace(c, index=candle_ts // h.tf_ms)
    avg = grid.average_entry(before)
    state, intents = grid.on_candle(h.settings, before, c, rules(h))
    h.strat = state
    closes = [i for i in intents if i.kind == IntentKind.CLOSE]
    if state.stopped and not before.stopped:
        h.meta["close_avg"] = avg
    await _persist(h, before, candle_ts, state.notes)
    if state.stopped and not before.stopped:
        await stop_orders(h, closes)
        await notify(h.user_id, "grid_stopped", {"bot_id": h.id, "symbol": h.symbol, "reason": state.stopped,
                                                 "position": str(h.book.position),
                                                 "realized_pnl": str(h.book.realized), "fees": str(h.book.fees),
                                                 "_market": events.market_info(h.market)},
                     dedup("grid_stopped", h.id, h.meta.get("started_ms", 0)))
        await h.save(status=BotStatus.STOPPING)
    h.dirty = True


async def stop_orders(h: BotHandle, closes) -> tuple[int, Decimal]:
    """Cancel every resting grid order, then send the closing market order(s)."""
    cancelled = 0
    rows = await Order.filter(bot_id=h.id, role__in=list(RESTING), status=OrderStatus.OPEN)
    for r in rows:
        await h.life.cancel(r)
        cancelled += 1
    sent = Decimal(0)
    for i in closes:
        amount = to_amount(i.amount, h.market)
        if placeable(amount, None, h.market):
            await h.life.place(OrderRole.CLOSE, Side(i.side), OrderType.MARKET, amount, reduce_only=h.swap,
                               reason=i.reason[:64])
            sent += amount
    return cancelled, sent


async def on_fill(h: BotHandle, conn: BaseDBAsyncClient, order: Order, fill: Fill) -> tuple[str, dict] | None:
    before = h.strat
    if not isinstance(before, GridState):
        return None
    r = rules(h)
    try:
        if order.role == OrderRole.CLOSE:
            state = grid.on_close_fill(before, float(fill.price), float(fill.amount), float(fill.fee),
                                       float(h.meta.get("close_avg", 0.0)))
        else:
            role = "entry" if order.role == OrderRole.GRID_ENTRY else "exit"
            state, _ = grid.on_fill(h.settings, before, order.level, role, float(fill.price), float(fill.amount),
                                    float(fill.fee), r, side=order.side.value)
    except (IllegalTransition, KeyError) as e:
        # a fill no level can take (its level trailed away, a stopped grid): keep the books right, tell the user.
        sign = 1.0 if order.side == Side.BUY else -1.0
        h.strat = replace(before, position=before.position + sign * float(fill.amount),
                          fees=before.fees + float(fill.fee), realized_pnl=before.realized_pnl - float(fill.fee))
        await events.note(h, "unexpected_fill",
                          {"level": order.level, "role": order.role.value, "error": str(e)[:80]}, fill.ts, conn)
        await h.save(conn)
        return None
    h.strat = state
    await h.save(conn)
    await save_levels(h, before, conn)
    for reason, details in state.notes:
        await events.note(h, reason, details, fill.ts, conn)
    h.dirty = True
    detail = "close" if order.role == OrderRole.CLOSE else order.role.value
    return "fill", {"kind_detail": detail}


def wants(h: BotHandle) -> list[Want]:
    s = h.strat
    if not isinstance(s, GridState) or s.stopped:
        return []
    out = []
    for o in grid.desired_orders(s, neutral=h.settings.direction == "neutral"):
        role = OrderRole.GRID_ENTRY if o.role == "grid_entry" else OrderRole.GRID_EXIT
        out.append(Want(role, o.level, Side(o.side), OrderType.LIMIT, to_amount(o.amount, h.market),
                        price=to_price(o.price, h.market), reduce_only=o.reduce_only and h.swap, reason=o.role))
    return out


async def sync(h: BotHandle) -> SyncResult:
    if not isinstance(h.strat, GridState) or h.strat.stopped:
        h.dirty = False
        return SyncResult()
    res = await sync_resting(h.life, h.market, wants(h), RESTING)
    entry_refused = [w for w in res.failed if w.role == OrderRole.GRID_ENTRY]
    if entry_refused:  # back to idle, to be re-armed on a later candle
        before = h.strat
        state = before
        for w in entry_refused:
            state = grid.mark_failed(state, w.level)
        h.strat = state
        await _persist(h, before, 0)
    h.dirty = bool(res.waiting or any(w.role == OrderRole.GRID_EXIT for w in res.failed))
    return res
