"""GRID live: the pure runner driven (ladder, closes, fills), its orders placed and cancelled, GridLevel rows."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db.enums import BotKind, BotStatus, LevelState, OrderRole, OrderStatus
from db.models import Fill, GridLevel, Order
from engine.candles import Candles
from engine.exchange.protocol import Market, OrderType, Side
from engine.market.candle_cache import CandleCache
from engine.market.rules import market_rules
from engine.notices import FillNotice, GridStopped, MarketInfo
from engine.runtime import events
from engine.runtime.bots import BotHandle, FillTold
from engine.runtime.codec import grid_from_json, grid_to_json
from engine.runtime.outbox import notify
from engine.runtime.sync import SyncResult, WantedOrder, placeable, sync_resting, to_amount, to_price
from engine.strategies import grid, grid_why
from engine.strategies.grid import GridCandle, GridSettings, GridState, PlanRefused
from engine.strategies.grid_levels import IllegalTransition
from engine.strategies.intents import Intent, Note
from engine.strategies.roles import GRID_RESTING
from engine.strategies.runner import Fill as FillEvent
from engine.strategies.runner_grid import GridRunner
from engine.strategy_inputs import grid_inputs, warmup

log = logging.getLogger(__name__)


async def save_levels(h: BotHandle, before: GridState | None, conn: BaseDBAsyncClient | None) -> None:
    """GridLevel rows follow the strategy's levels; only changed ones are written."""
    s = h.strat
    if s is None:
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


async def _persist(h: BotHandle, before: GridState | None, candle_ts: int, notes: list[Note] = ()) -> None:
    async with in_transaction() as conn:
        await h.save(conn)
        await save_levels(h, before, conn)
        await h.save_position(conn)
        for n in notes:
            await events.note(h, n.reason, n.details, candle_ts, conn)


class LiveGrid:
    kind = BotKind.GRID
    settings_model = GridSettings
    fresh_on_start = True  # a fresh ladder every start
    resting_roles = GRID_RESTING

    @staticmethod
    def make(settings: GridSettings, market: Market, state: GridState | None) -> GridRunner:
        return GridRunner(settings, market_rules(market), state)

    @staticmethod
    def decode(raw: dict | None) -> GridState | None:
        return grid_from_json(raw)

    @staticmethod
    def encode(strat: GridState | None) -> dict | None:
        return None if strat is None else grid_to_json(strat)

    @staticmethod
    def params_key(settings: GridSettings) -> tuple:
        return ("grid", settings.timeframe, settings.fama_length, settings.atr_length, settings.adx_gate,
                settings.adx_threshold)

    @staticmethod
    def inputs(settings: GridSettings, candles: Candles) -> Any:
        return grid_inputs(settings, candles)

    @staticmethod
    def holds(strat: GridState | None) -> dict[str, Any]:
        return {}

    async def start(self, h: BotHandle, candles: CandleCache, now_ms: int) -> None:
        """Plan the ladder at the last close. PlanRefused (with its numbers) propagates."""
        got = await candles.closed_candles(h.source, h.symbol, h.timeframe, warmup(h.settings))
        if len(got) == 0:
            raise PlanRefused("no_price_yet")
        await self._plan(h, float(got.close[-1]), grid_inputs(h.settings, got).at(-1), now_ms)

    async def _plan(self, h: BotHandle, price: float, c: GridCandle, now_ms: int) -> None:
        step = h.strategy.start(price, replace(c, index=now_ms // h.tf_ms))
        h.rt.started_ms = now_ms
        h.rt.record(now_ms, grid_why.start_decision(h.settings, replace(c, close=price), step.intents, h.strat))
        await _persist(h, None, now_ms, step.notes)
        h.dirty = True

    async def on_candle(self, h: BotHandle, c: GridCandle, close: float, candle_ts: int, now_ms: int) -> None:
        if h.strat is None:  # attached at start-up before its ladder was planned: planned at this close
            await self._plan(h, close, c, now_ms)
            return
        if h.rt.candle is not None and h.rt.candle >= candle_ts:
            return
        before = h.strat
        h.rt.candle = candle_ts
        c = replace(c, index=candle_ts // h.tf_ms)
        if h.status == BotStatus.PAUSED or before.stopped:
            h.rt.record(candle_ts + h.tf_ms, grid_why.candle_decision(h.settings, before, c, (), before,
                                                                      paused=h.status == BotStatus.PAUSED))
            await h.save_decision()
            return
        step = h.strategy.on_candle(c)
        state = h.strat
        h.rt.record(candle_ts + h.tf_ms, grid_why.candle_decision(h.settings, before, c, step.intents, state))
        await _persist(h, before, candle_ts, step.notes)
        if state.stopped and not before.stopped:
            await self._close(h, step.market)
            b = h.book
            await notify(h.user_id, GridStopped(bot_id=h.id, symbol=h.symbol, reason=state.stopped,
                                                position=b.position, realized_pnl=b.realized, fees=b.fees,
                                                market=MarketInfo.of(h.market), started_ms=h.rt.started_ms or 0))
            await h.save(status=BotStatus.STOPPING)
        h.dirty = True

    async def _close(self, h: BotHandle, closes: list[Intent]) -> Decimal:
        """Cancel every resting grid order, then send the closing market order(s); returns the amount sent."""
        for r in await Order.filter(bot_id=h.id, role__in=list(self.resting_roles), status=OrderStatus.OPEN):
            await h.life.cancel(r)
        sent = Decimal(0)
        for i in closes:
            amount = to_amount(i.amount, h.market)
            if placeable(amount, None, h.market):
                await h.life.place(i.role, Side(i.side), OrderType.MARKET, amount, reduce_only=h.swap,
                                   reason=i.reason[:64])
                sent += amount
        return sent

    async def stop(self, h: BotHandle, close_position: bool) -> Decimal:
        if h.strat is None:
            return Decimal(0)
        return await self._close(h, h.strategy.close(close_position).market)

    @staticmethod
    def waiting(h: BotHandle) -> bool:  # its orders rest: an order not final is what keeps its market supervised
        return False

    async def check_pending(self, h: BotHandle) -> None:
        """A grid sends no market order it waits for."""

    async def on_fill(self, h: BotHandle, conn: BaseDBAsyncClient, order: Order, fill: Fill) -> FillTold:
        before = h.strat
        if before is None:
            return FillNotice, {}
        if order.role == OrderRole.CLOSE and not before.close_average and h.rt.close_avg:
            h.strat = replace(before, close_average=h.rt.close_avg)  # stopped before the state kept its average
        ev = FillEvent(order.role, float(fill.price), float(fill.amount), float(fill.fee), level=order.level or 0,
                       side=order.side.value)
        try:
            step = h.strategy.on_fill(ev)
        except (IllegalTransition, KeyError) as e:
            # a fill no level can take (its level trailed away, a stopped grid): keep the books right, tell the user.
            sign = 1.0 if order.side == Side.BUY else -1.0
            h.strat = replace(before, position=before.position + sign * float(fill.amount),
                              fees=before.fees + float(fill.fee), realized_pnl=before.realized_pnl - float(fill.fee))
            await events.note(h, "unexpected_fill",
                              {"level": order.level, "role": order.role.value, "error": str(e)[:80]}, fill.ts, conn)
            await h.save(conn)
            return FillNotice, {}
        await h.save(conn)
        await save_levels(h, before, conn)
        for n in step.notes:
            await events.note(h, n.reason, n.details, fill.ts, conn)
        h.dirty = True
        return FillNotice, {"kind_detail": order.role.value}

    @staticmethod
    def wanted(h: BotHandle) -> list[WantedOrder]:
        return [WantedOrder(o.role, o.level, Side(o.side), OrderType.LIMIT, to_amount(o.amount, h.market),
                            price=to_price(o.price, h.market), reduce_only=o.reduce_only and h.swap,
                            reason=o.role.value)
                for o in h.strategy.desired_orders()]

    async def sync(self, h: BotHandle) -> SyncResult:
        if h.strat is None or h.strat.stopped:
            h.dirty = False
            return SyncResult()
        res = await sync_resting(h.life, h.market, self.wanted(h), self.resting_roles)
        entry_refused = [w for w in res.failed if w.role == OrderRole.GRID_ENTRY]
        if entry_refused:  # back to idle, to be re-armed on a later candle
            before = h.strat
            for w in entry_refused:
                h.strategy.on_refused(w.role, w.level)
                h.rt.amend("order_refused", role=w.role.value, side=w.side.value, level=w.level,
                           amount=float(w.amount), price=float(w.price or 0))
            await _persist(h, before, 0)
        h.dirty = bool(res.waiting or any(w.role == OrderRole.GRID_EXIT for w in res.failed))
        return res

    @staticmethod
    def position_gone(h: BotHandle, now_ms: int) -> None:
        if h.strat is not None:
            h.strat = grid.position_gone(h.settings, h.strat, "position_closed_outside")
