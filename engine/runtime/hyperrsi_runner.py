"""HYPERRSI live: the pure runner driven on candle closes and fills, its market orders sent, its resting TP/stop
orders kept equal to what it wants."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import fields, replace
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from db.enums import BotKind, BotStatus, OrderRole, OrderStatus
from db.models import Fill, Order
from engine.candles import Candles
from engine.exchange.protocol import Market, OrderType, Side
from engine.market.candle_cache import CandleCache
from engine.notices import EntryNotice, FillNotice, MarketInfo, StopLossNotice, TakeProfitNotice, TrailingMoved
from engine.runtime import asked_orders, events
from engine.runtime.bots import BotHandle, FillTold
from engine.runtime.codec import hyperrsi_from_json, hyperrsi_to_json
from engine.runtime.orders import NEVER_REACHED
from engine.runtime.outbox import notify
from engine.runtime.state import TREND_NOTICE_MS
from engine.runtime.sync import SyncResult, WantedOrder, has_open, placeable, sync_resting, to_amount, to_price
from engine.strategies import hyperrsi, hyperrsi_why
from engine.strategies.hyperrsi import CandleInputs, HyperRsiSettings, HyperRsiState
from engine.strategies.intents import Intent, IntentKind
from engine.strategies.roles import HYPERRSI_RESTING, MARKET, STOPS
from engine.strategies.runner import Fill as FillEvent
from engine.strategies.runner_hyperrsi import HyperRsiRunner
from engine.strategy_inputs import hyperrsi_inputs

log = logging.getLogger(__name__)

FAILED = (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED)
KNOWN = MARKET | STOPS | set(HYPERRSI_RESTING)  # the roles of a HYPERRSI bot's orders
NOTICE = {OrderRole.ENTRY: EntryNotice, OrderRole.PYRAMID: EntryNotice, OrderRole.TAKE_PROFIT: TakeProfitNotice,
          OrderRole.STOP_LOSS: StopLossNotice, OrderRole.TRAILING: StopLossNotice}  # the kind of a fill's notice
# what a state's equality compares, but its ATR: a close that moved nothing else only records its decision
_BUT_ATR = attrgetter(*(f.name for f in fields(HyperRsiState) if f.compare and f.name != "atr"))


@lru_cache(maxsize=256)
def _with_rules(c: CandleInputs, index: int, min_amount: float, lot: float, min_cost: float) -> CandleInputs:
    """A close's inputs with the market's rules, made once for the bots of a market that share them (each bot took
    its own copy: a third of the dataclass copies of a quiet close)."""
    return replace(c, index=index, min_amount=min_amount, lot=lot, min_cost=min_cost)


def _quiet(h: BotHandle, reason: str, candle_ts: int) -> bool:
    """A trend-block notice within TREND_NOTICE_MS of candles after the bot's last one is not sent (/why still shows
    each blocked candle); the time is the candles', so a replay and a restart throttle alike."""
    if reason not in hyperrsi_why.BLOCKED:
        return False
    last = h.rt.trend_notice_ms
    if last is not None and 0 <= candle_ts - last < TREND_NOTICE_MS:
        return True
    h.rt.trend_notice_ms = candle_ts
    return False


def _pending_role(pending: str) -> OrderRole:
    """The role of the market order a `pending` marker waits for ("remainder" is a close)."""
    return {"entry": OrderRole.ENTRY, "add": OrderRole.PYRAMID}.get(pending, OrderRole.CLOSE)


async def _max_seq(bot_id: int) -> int:
    row = await Order.filter(bot_id=bot_id).annotate(m=Max("seq")).first().values("m")
    return int((row or {}).get("m") or 0)


class LiveHyperRsi:
    kind = BotKind.HYPERRSI
    settings_model = HyperRsiSettings
    fresh_on_start = False  # a position kept at a stop is managed again
    resting_roles = HYPERRSI_RESTING

    @staticmethod
    def make(settings: HyperRsiSettings, market: Market, state: HyperRsiState | None) -> HyperRsiRunner:
        return HyperRsiRunner(settings, state)

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
        """Evaluate one closed candle once (`candle_ts` = its open time), then send the market orders it asks for."""
        if h.rt.candle is not None and h.rt.candle >= candle_ts:
            return
        m = h.market
        c = _with_rules(c, candle_ts // h.tf_ms, float(m.min_amount or 0), float(m.amount_step), float(m.min_cost or 0))
        old, paused = h.strat, h.status == BotStatus.PAUSED
        step = h.strategy.on_candle(c, paused=paused)
        state = h.strat
        h.rt.candle = candle_ts
        why = hyperrsi_why.candle_decision(h.settings, old, c, step.intents, step.notes, state, paused)
        h.rt.record(candle_ts + h.tf_ms, why)
        notes = [n for n in step.notes if not _quiet(h, n.reason, candle_ts)]
        if not step.intents and not step.notes and _BUT_ATR(state) == _BUT_ATR(old):
            await h.save_decision()  # nothing happened but the ATR: only the decision, for /why
            return
        market = step.market
        h.rt.pending_orders = [[i.kind.value, i.role.value, i.side, i.amount, i.reason] for i in market] or None

        async def commit(conn: BaseDBAsyncClient) -> None:
            await h.save(conn)
            for n in notes:
                await events.note(h, n.reason, n.details, candle_ts, conn)
            if state.stop is not None and state.stop != old.stop and old.side == state.side != "flat":
                await notify(h.user_id, TrailingMoved(bot_id=h.id, symbol=h.symbol, stop=state.stop,
                                                      previous=old.stop, reason=state.stop_reason,
                                                      candle_ts=candle_ts, market=MarketInfo.of(m)), conn=conn)
            await h.save_position(conn)

        h.dirty = True
        if len(market) == 1 and self._ask(h, market[0], commit):
            return  # sent with the other orders of the market's close (engine/runtime/asked_orders.py)
        if market:
            h.rt.pending_floor = await _max_seq(h.id)
        async with in_transaction() as conn:
            await commit(conn)
        for intent in market:
            await self.send_market(h, intent)

    def _ask(self, h: BotHandle, intent: Intent, commit: Callable[[BaseDBAsyncClient], Awaitable[None]]) -> bool:
        """One placeable market order left to the close's batch, if there is one."""
        amount = to_amount(intent.amount, h.market)
        if not placeable(amount, None, h.market):
            return False

        async def done(order: Order) -> None:
            if order.status in FAILED:
                await self._refused(h, intent.role)

        return asked_orders.ask(asked_orders.Asked(
            h, intent.role, Side(intent.side), amount, intent.role == OrderRole.CLOSE and h.swap, intent.reason[:64],
            commit, done))

    async def send_market(self, h: BotHandle, intent: Intent) -> Order | None:
        """One market order the strategy asked for (base currency); a refused one is no longer pending."""
        amount = to_amount(intent.amount, h.market)
        if not placeable(amount, None, h.market):
            await self._refused(h, intent.role)
            return None
        order = await h.life.place(intent.role, Side(intent.side), OrderType.MARKET, amount,
                                   reduce_only=intent.role == OrderRole.CLOSE and h.swap, reason=intent.reason[:64])
        if order.status in FAILED:
            await self._refused(h, intent.role)
        return order

    @staticmethod
    async def _refused(h: BotHandle, role: OrderRole) -> None:
        now_ms = h.rt.candle or 0
        before = h.strat
        h.strategy.on_refused(role, index=now_ms // h.tf_ms)
        h.rt.amend("order_refused", role=role.value)
        async with in_transaction() as conn:
            await h.save(conn)
            if before.pending == "remainder" and h.strat.side == "flat":  # said once: the bot is free again
                await events.note(h, "remainder_refused", {"amount": before.size, "side": before.side}, now_ms, conn)
                await h.save_position(conn)

    @staticmethod
    def waiting(h: BotHandle) -> bool:
        return bool(h.strat is not None and h.strat.pending)

    async def check_pending(self, h: BotHandle) -> None:
        """Market orders asked for but not all sent (a crash in between): the rest are sent now while the candle
        that asked for them is still the latest, as they would have been without the crash; later, or refused,
        the bot forgets it was waiting for them."""
        s = h.strat
        if not s.pending:
            return
        rows = await Order.filter(bot_id=h.id, role__in=list(MARKET), seq__gt=h.rt.pending_floor or 0) \
            .order_by("seq").values_list("status", "error")
        # a row written before a crash that kept it from the exchange (given up at start-up) was never sent
        sent = [st for st, error in rows if not (st == OrderStatus.REJECTED and error == NEVER_REACHED)]
        asked = h.rt.pending_orders or []
        if len(sent) < len(asked) and not any(st in FAILED for st in sent) and self._timely(h):
            for kind, role, side, amount, reason in asked[len(sent):]:
                await self.send_market(h, Intent(IntentKind(kind), side, reason, amount=amount, role=OrderRole(role)))
            return
        if not rows or all(st in FAILED for st, _ in rows):
            await self._refused(h, _pending_role(s.pending))

    @staticmethod
    def _timely(h: BotHandle) -> bool:
        """Whether the candle that asked for the pending orders is still the last one closed."""
        return h.rt.candle is not None and h.life.clock() < h.rt.candle + 2 * h.tf_ms

    async def on_fill(self, h: BotHandle, conn: BaseDBAsyncClient, order: Order, fill: Fill) -> FillTold:
        """The strategy's state after the fill, in the fill's transaction; what kind of fill it was for its notice."""
        if order.role not in KNOWN:
            return FillNotice, {}
        before = h.strat
        ev = FillEvent(order.role, float(fill.price), float(fill.amount), float(fill.fee), level=order.level or 0,
                       index=fill.ts // h.tf_ms, side=order.side.value)
        try:
            step = h.strategy.on_fill(ev)
        except ValueError as e:
            await events.note(h, "unexpected_fill", {"role": order.role.value, "error": str(e)[:80],
                                                     "trade": fill.trade_id}, fill.ts, conn)
            return FillNotice, {}
        for n in step.notes:
            if n.reason == "late_entry_fill":  # the other notes of a fill are said by its own notification
                await events.note(h, n.reason, n.details, fill.ts, conn)
        await h.save(conn)
        h.dirty = True
        after = h.strat
        model = NOTICE.get(order.role, FillNotice)
        if model is EntryNotice:
            return model, {"position_side": after.side, "average": h.book.average,
                           "pyramid_count": after.pyramid_count}
        if model is TakeProfitNotice:
            return model, {"stage": order.level}
        if model is StopLossNotice:
            return model, {"stop_reason": before.stop_reason}
        return model, {}

    @staticmethod
    def wanted(h: BotHandle) -> list[WantedOrder]:
        out = []
        for o in h.strategy.desired_orders():
            amount, price = to_amount(o.amount, h.market), to_price(o.price, h.market)
            if o.type == "limit":
                out.append(WantedOrder(o.role, o.level, Side(o.side), OrderType.LIMIT, amount, price=price,
                                       reduce_only=h.swap, reason=o.reason))
            else:
                out.append(WantedOrder(o.role, o.level, Side(o.side), OrderType.STOP_MARKET, amount, trigger=price,
                                       reduce_only=h.swap, reason=o.reason))
        return out

    async def sync(self, h: BotHandle) -> SyncResult:
        """Resting orders = desired_orders; not while a market order is out (the size is about to change)."""
        s = h.strat
        if s.pending and await has_open(h.id, MARKET):
            return SyncResult()
        res = await sync_resting(h.life, h.market, self.wanted(h), self.resting_roles)
        h.dirty = bool(res.failed or res.waiting)
        return res

    async def stop(self, h: BotHandle, close_position: bool) -> Decimal:
        """The position closed at market if asked (its resting orders are cancelled by the caller)."""
        sent = Decimal(0)
        for intent in h.strategy.close(close_position).market:
            order = await self.send_market(h, intent)
            if order is not None and order.status != OrderStatus.REJECTED:
                sent += order.amount
        return sent

    @staticmethod
    def position_gone(h: BotHandle, now_ms: int) -> None:
        h.strat = hyperrsi.position_gone(h.settings, h.strat, now_ms // h.tf_ms)
