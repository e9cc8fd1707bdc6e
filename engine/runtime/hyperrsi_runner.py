"""HYPERRSI live: a candle close in, market orders out, resting TP/stop orders kept equal to `desired_orders`."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from db.enums import BotKind, BotStatus, OrderRole, OrderStatus
from db.models import Fill, Order
from engine.candles import Candles
from engine.exchange.protocol import OrderType, Side
from engine.market.candle_cache import CandleCache
from engine.notices import EntryNotice, FillNotice, MarketInfo, StopLossNotice, TakeProfitNotice, TrailingMoved
from engine.runtime import events
from engine.runtime.bots import BotHandle, FillTold
from engine.runtime.codec import hyperrsi_from_json, hyperrsi_to_json
from engine.runtime.orders import OPEN_STATES
from engine.runtime.outbox import notify
from engine.runtime.sync import SyncResult, WantedOrder, placeable, sync_resting, to_amount, to_price
from engine.strategies import hyperrsi
from engine.strategies.hyperrsi import CandleInputs, FillEvent, HyperRsiSettings, HyperRsiState
from engine.strategies.intents import IntentKind
from engine.strategy_inputs import hyperrsi_inputs

log = logging.getLogger(__name__)

MARKET_ROLES = (OrderRole.ENTRY, OrderRole.PYRAMID, OrderRole.CLOSE)
FAILED = (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED)
_INTENT_ROLE = {IntentKind.OPEN: OrderRole.ENTRY, IntentKind.ADD: OrderRole.PYRAMID, IntentKind.CLOSE: OrderRole.CLOSE}
_PENDING = {OrderRole.ENTRY: "entry", OrderRole.PYRAMID: "add", OrderRole.CLOSE: "close"}
FILL_ROLE = {OrderRole.ENTRY: "entry", OrderRole.PYRAMID: "add", OrderRole.TAKE_PROFIT: "tp",
             OrderRole.STOP_LOSS: "stop", OrderRole.TRAILING: "stop", OrderRole.CLOSE: "close"}


def _strat(h: BotHandle) -> HyperRsiState:
    return h.strat if isinstance(h.strat, HyperRsiState) else HyperRsiState()


async def _max_seq(bot_id: int) -> int:
    row = await Order.filter(bot_id=bot_id).annotate(m=Max("seq")).first().values("m")
    return int((row or {}).get("m") or 0)


class HyperRsiRunner:
    kind = BotKind.HYPERRSI
    settings_model = HyperRsiSettings
    fresh_on_start = False  # a position kept at a stop is managed again
    resting_roles = (OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS)

    @staticmethod
    def decode(raw: dict | None) -> HyperRsiState:
        return hyperrsi_from_json(raw)

    @staticmethod
    def encode(strat: HyperRsiState | None) -> dict | None:
        return None if strat is None else hyperrsi_to_json(strat)

    @staticmethod
    def params_key(settings: HyperRsiSettings) -> tuple:
        return ("hyperrsi", settings.rsi_period, settings.timeframe)

    @staticmethod
    def inputs(settings: HyperRsiSettings, candles: Candles) -> Any:
        return hyperrsi_inputs(settings, candles)

    @staticmethod
    def holds(strat: HyperRsiState | None) -> dict[str, Any]:
        s = strat or HyperRsiState()
        return {"pyramid_count": s.pyramid_count, "tp_stage": s.tp_stage,
                "trailing": {"active": s.trailing, "best": s.best, "stop": s.stop, "reason": s.stop_reason}}

    async def start(self, h: BotHandle, candles: CandleCache, now_ms: int) -> None:
        """Nothing to plan: the first candle close decides."""

    async def on_candle(self, h: BotHandle, c: CandleInputs, close: float, candle_ts: int, now_ms: int) -> None:
        """Evaluate one closed candle once (`candle_ts` = its open time), then act on it."""
        if h.rt.candle is not None and h.rt.candle >= candle_ts:
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
            h.strat, h.rt.candle = state, candle_ts
            return
        if market:
            h.rt.pending_floor = await _max_seq(h.id)
        async with in_transaction() as conn:
            h.strat = state
            h.rt.candle = candle_ts
            await h.save(conn)
            for n in res.notes:
                await events.note(h, n.reason, n.details, candle_ts, conn)
            if state.stop is not None and state.stop != old.stop and old.side == state.side != "flat":
                await notify(h.user_id, TrailingMoved(bot_id=h.id, symbol=h.symbol, stop=state.stop,
                                                      previous=old.stop, reason=state.stop_reason,
                                                      candle_ts=candle_ts, market=MarketInfo.of(m)), conn=conn)
            await h.save_position(conn)
        for intent in market:
            await self.send_market(h, _INTENT_ROLE[intent.kind], intent.side, intent.amount, intent.reason)
        h.dirty = True

    async def send_market(self, h: BotHandle, role: OrderRole, side: str, base_amount: float,
                          reason: str) -> Order | None:
        """One market order of `base_amount` (base currency); a refused one is no longer pending."""
        amount = to_amount(base_amount, h.market)
        reduce_only = role == OrderRole.CLOSE and h.swap
        if not placeable(amount, None, h.market):
            await self._forget_pending(h, _strat(h), _PENDING[role])
            return None
        order = await h.life.place(role, Side(side), OrderType.MARKET, amount, reduce_only=reduce_only,
                                   reason=reason[:64])
        if order.status in FAILED:
            await self._forget_pending(h, _strat(h), _PENDING[role])
        return order

    @staticmethod
    async def _forget_pending(h: BotHandle, before: HyperRsiState, role: str) -> None:
        now_ms = h.rt.candle or 0
        after = h.strat = hyperrsi.on_order_failed(h.settings, before, role, now_ms // h.tf_ms)
        async with in_transaction() as conn:
            await h.save(conn)
            if before.pending == "remainder" and after.side == "flat":  # said once: the bot is free again
                await events.note(h, "remainder_refused", {"amount": before.size, "side": before.side}, now_ms, conn)
                await h.save_position(conn)

    async def check_pending(self, h: BotHandle) -> None:
        """A market order asked for but never sent (crash in between) or refused: forget it was pending."""
        s = _strat(h)
        if not s.pending:
            return
        rows = await Order.filter(bot_id=h.id, role__in=list(MARKET_ROLES), seq__gt=h.rt.pending_floor or 0) \
            .values_list("status", flat=True)
        if not rows or all(st in FAILED for st in rows):
            await self._forget_pending(h, s, s.pending)

    async def on_fill(self, h: BotHandle, conn: BaseDBAsyncClient, order: Order, fill: Fill) -> FillTold:
        """The strategy's state after the fill, in the fill's transaction; what kind of fill it was for its notice."""
        role = FILL_ROLE.get(order.role)
        before = _strat(h)
        if role is None:
            return FillNotice, {}
        ev = FillEvent(role, float(fill.price), float(fill.amount), float(fill.fee), stage=order.level or 0,
                       index=fill.ts // h.tf_ms, side=order.side.value)
        try:
            res = hyperrsi.on_fill(h.settings, before, ev)
        except ValueError as e:
            await events.note(h, "unexpected_fill", {"role": role, "error": str(e)[:80], "trade": fill.trade_id},
                              fill.ts, conn)
            return FillNotice, {}
        after = h.strat = res.state
        for n in res.notes:
            if n.reason == "late_entry_fill":  # the other notes of a fill are said by its own notification
                await events.note(h, n.reason, n.details, fill.ts, conn)
        await h.save(conn)
        h.dirty = True
        if role in ("entry", "add"):
            return EntryNotice, {"position_side": after.side, "average": h.book.average,
                                 "pyramid_count": after.pyramid_count}
        if role == "tp":
            return TakeProfitNotice, {"stage": order.level}
        if role == "stop":
            return StopLossNotice, {"stop_reason": before.stop_reason}
        return FillNotice, {}

    @staticmethod
    def wanted(h: BotHandle) -> list[WantedOrder]:
        out = []
        for o in hyperrsi.desired_orders(h.settings, _strat(h)):
            amount, price = to_amount(o.amount, h.market), to_price(o.price, h.market)
            if o.role == OrderRole.TAKE_PROFIT:
                out.append(WantedOrder(o.role, o.level, Side(o.side), OrderType.LIMIT, amount, price=price,
                                       reduce_only=h.swap, reason=o.reason))
            else:
                out.append(WantedOrder(o.role, o.level, Side(o.side), OrderType.STOP_MARKET, amount, trigger=price,
                                       reduce_only=h.swap, reason=o.reason))
        return out

    async def sync(self, h: BotHandle) -> SyncResult:
        """Resting orders = desired_orders; not while a market order is out (the size is about to change)."""
        s = _strat(h)
        if s.pending and await Order.filter(bot_id=h.id, role__in=list(MARKET_ROLES),
                                            status__in=list(OPEN_STATES)).exists():
            return SyncResult()
        res = await sync_resting(h.life, h.market, self.wanted(h), self.resting_roles)
        h.dirty = bool(res.failed or res.waiting)
        return res

    async def stop(self, h: BotHandle, close_position: bool) -> Decimal:
        """The position closed at market if asked (its resting orders are cancelled by the caller)."""
        s = _strat(h)
        if not close_position or s.size <= 0:
            return Decimal(0)
        h.strat = replace(s, pending="close")
        side = "sell" if s.side == "long" else "buy"
        order = await self.send_market(h, OrderRole.CLOSE, side, s.size, "user_stop")
        return order.amount if order is not None and order.status != OrderStatus.REJECTED else Decimal(0)

    @staticmethod
    def position_gone(h: BotHandle, now_ms: int) -> None:
        h.strat = hyperrsi.position_gone(h.settings, _strat(h), now_ms // h.tf_ms)
