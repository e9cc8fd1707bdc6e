"""HYPERRSI live: a candle close in, market orders out, resting TP/stop orders kept equal to `desired_orders`."""

from __future__ import annotations

import logging
from dataclasses import replace

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from db.enums import BotStatus, OrderRole, OrderStatus
from db.models import Fill, Order
from engine.exchange.protocol import OrderType, Side
from engine.runtime import events
from engine.runtime.bots import BotHandle
from engine.runtime.orders import OPEN_STATES
from engine.runtime.outbox import dedup, notify
from engine.runtime.sync import SyncResult, Want, placeable, sync_resting, to_amount, to_price
from engine.strategies import hyperrsi
from engine.strategies.hyperrsi import CandleInputs, FillEvent, HyperRsiState
from engine.strategies.intents import IntentKind

log = logging.getLogger(__name__)

RESTING = (OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS)
MARKET_ROLES = (OrderRole.ENTRY, OrderRole.PYRAMID, OrderRole.CLOSE)
_INTENT_ROLE = {IntentKind.OPEN: OrderRole.ENTRY, IntentKind.ADD: OrderRole.PYRAMID, IntentKind.CLOSE: OrderRole.CLOSE}
_PENDING = {OrderRole.ENTRY: "entry", OrderRole.PYRAMID: "add", OrderRole.CLOSE: "close"}
FILL_ROLE = {OrderRole.ENTRY: "entry", OrderRole.PYRAMID: "add", OrderRole.TAKE_PROFIT: "tp",
             OrderRole.STOP_LOSS: "stop", OrderRole.TRAILING: "stop", OrderRole.CLOSE: "close"}


def _strat(h: BotHandle) -> HyperRsiState:
    return h.strat if isinstance(h.strat, HyperRsiState) else HyperRsiState()


async def _max_seq(bot_id: int) -> int:
    row = await Order.filter(bot_id=bot_id).annotate(m=Max("seq")).first().values("m")
    return int((row or {}).get("m") or 0)


async def on_candle(h: BotHandle, c: CandleInputs, candle_ts: int) -> None:
    """Evaluate one closed candle once (`candle_ts` = its open time), then act on it. Caller holds the lock."""
    if h.meta.get("candle", -1) >= candle_ts:
        return
    m = h.market
    c = replace(c, index=candle_ts // h.tf_ms, min_amount=float(m.min_amount or 0), lot=float(m.amount_step),
                min_cost=float(m.min_cost or 0))
    old = _strat(h)
    if h.status == BotStatus.PAUSED and old.side == "flat" and not old.pending:
        res = hyperrsi.StepResult(replace(old, atr=c.atr if c.atr == c.atr else old.atr), [], [])
    else:
        res = hyperrsi.on_candle(h.settings, old, c)
    state, intents = res.state, list(res.intents)
    if h.status == BotStatus.PAUSED and any(i.kind == IntentKind.ADD for i in intents):
        intents = [i for i in intents if i.kind != IntentKind.ADD]  # paused: no new exposure
        state = replace(state, pending="")
    market = [i for i in intents if i.kind in _INTENT_ROLE]
    if not intents and not res.notes and replace(state, atr=old.atr) == old:
        # Nothing happened but the ATR: no write. Re-evaluating this candle after a restart is the same no-op.
        h.strat, h.meta["candle"] = state, candle_ts
        return
    if market:
        h.meta["pending_floor"] = await _max_seq(h.id)
    async with in_transaction() as conn:
        h.strat = state
        h.meta["candle"] = candle_ts
        await h.save(conn)
        for n in res.notes:
            await events.note(h, n.reason, n.details, candle_ts, conn)
        if state.stop is not None and state.stop != old.stop and old.side == state.side != "flat":
            await notify(h.user_id, "trailing_moved",
                         {"bot_id": h.id, "symbol": h.symbol, "stop": state.stop, "previous": old.stop,
                          "reason": state.stop_reason, "candle_ts": candle_ts, "_market": events.market_info(m)},
                         dedup("trailing", h.id, candle_ts), conn=conn)
        await h.save_position(conn)
    for intent in market:
        await _send_market(h, _INTENT_ROLE[intent.kind], intent.side, intent.amount, intent.reason)
    h.dirty = True


async def _send_market(h: BotHandle, role: OrderRole, side: str, base_amount: float, reason: str) -> Order | None:
    amount = to_amount(base_amount, h.market)
    reduce_only = role == OrderRole.CLOSE and h.swap
    if not placeable(amount, None, h.market):
        await _market_failed(h, role)
        return None
    order = await h.life.place(role, Side(side), OrderType.MARKET, amount, reduce_only=reduce_only, reason=reason[:64])
    if order.status in (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED):
        await _market_failed(h, role)
    return order


async def _market_failed(h: BotHandle, role: OrderRole) -> None:
    await _forget_pending(h, _strat(h), _PENDING[role])


async def _forget_pending(h: BotHandle, before: HyperRsiState, role: str) -> None:
    now_ms = int(h.meta.get("candle", 0))
    after = h.strat = hyperrsi.on_order_failed(h.settings, before, role, now_ms // h.tf_ms)
    async with in_transaction() as conn:
        await h.save(conn)
        if before.pending == "remainder" and after.side == "flat":  # said once: the bot is free again
            await events.note(h, "remainder_refused", {"amount": before.size, "side": before.side}, now_ms, conn)
            await h.save_position(conn)


async def check_pending(h: BotHandle) -> None:
    """A market order asked for but never sent (crash in between) or refused: forget it was pending."""
    s = _strat(h)
    if not s.pending:
        return
    floor = int(h.meta.get("pending_floor", 0))
    rows = await Order.filter(bot_id=h.id, role__in=list(MARKET_ROLES), seq__gt=floor).values_list("status", flat=True)
    if not rows or all(st in (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED) for st in rows):
        await _forget_pending(h, s, s.pending)


async def on_fill(h: BotHandle, conn: BaseDBAsyncClient, order: Order, fill: Fill) -> tuple[str, dict] | None:
    """The fill hook: the strategy's state, the position and the fill's PnL, in the fill's transaction."""
    role = FILL_ROLE.get(order.role)
    before = _strat(h)
    if role is None:
        return None
    amount = float(fill.amount)
    ev = FillEvent(role, float(fill.price), amount, float(fill.fee), stage=order.level or 0, index=fill.ts // h.tf_ms,
                   side=order.side.value)
    try:
        res = hyperrsi.on_fill(h.settings, before, ev)
    except ValueError as e:
        await events.note(h, "unexpected_fill", {"role": role, "error": str(e)[:80],
                                                                       "trade": fill.trade_id}, fill.ts, conn)
        return None
    after = h.strat = res.state
    for n in res.notes:
        if n.reason == "late_entry_fill":  # the other notes of a fill are said by its own notification
            await events.note(h, n.reason, n.details, fill.ts, conn)
    await h.save(conn)
    h.dirty = True
    if role in ("entry", "add"):
        return "entry", {"position_side": after.side, "average": str(h.book.average),
                         "pyramid_count": after.pyramid_count}
    if role == "tp":
        return "take_profit", {"stage": order.level}
    if role == "stop":
        return "stop_loss", {"stop_reason": before.stop_reason}
    return "fill", {}


def wants(h: BotHandle) -> list[Want]:
    out = []
    for o in hyperrsi.desired_orders(h.settings, _strat(h)):
        amount = to_amount(o.amount, h.market)
        if o.role == "tp":
            out.append(Want(OrderRole.TAKE_PROFIT, o.stage, Side(o.side), OrderType.LIMIT, amount,
                            price=to_price(o.price, h.market), reduce_only=h.swap, reason=o.reason))
        else:
            out.append(Want(OrderRole.STOP_LOSS, 0, Side(o.side), OrderType.STOP_MARKET, amount,
                            trigger=to_price(o.price, h.market), reduce_only=h.swap, reason=o.reason))
    return out


async def sync(h: BotHandle) -> SyncResult:
    """Resting orders = desired_orders; not while a market order is out (the size is about to change)."""
    s = _strat(h)
    if s.pending and await Order.filter(bot_id=h.id, role__in=list(MARKET_ROLES),
                                        status__in=list(OPEN_STATES)).exists():
        return SyncResult()
    res = await sync_resting(h.life, h.market, wants(h), RESTING)
    h.dirty = bool(res.failed or res.waiting)
    return res
