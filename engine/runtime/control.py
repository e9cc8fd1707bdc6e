"""The control API the chat calls: start, stop (close or keep the position), pause, resume, emergency stop-all."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from db.enums import BotKind, BotStatus, OrderStatus
from db.models import AuditLog, Order, StrategyBot
from engine.runtime import events, grid_runner, hyperrsi_runner
from engine.runtime.bots import BotHandle, decode_settings
from engine.runtime.orders import OPEN_STATES
from engine.runtime.outbox import dedup, notify
from engine.runtime.reconcile import wall_ms
from engine.strategies import grid
from engine.strategies.grid import GridState
from engine.strategies.hyperrsi import HyperRsiState
from engine.strategies.intents import Intent, IntentKind

if TYPE_CHECKING:
    from engine.runtime.engine import Engine

log = logging.getLogger(__name__)


class NotYours(Exception):
    """The bot does not exist or belongs to someone else (the same answer for both, on purpose)."""


def _now() -> datetime:
    return datetime.now(UTC)


class Control:
    def __init__(self, engine: Engine):
        self.engine = engine

    async def _own(self, user_id: int, bot_id: int) -> StrategyBot:
        row = await StrategyBot.get_or_none(id=bot_id)
        if row is None or row.user_id != user_id:
            raise NotYours(bot_id)
        return row

    @staticmethod
    async def _audit(user_id: int, action: str, bot_id: int, **details) -> None:
        await AuditLog.create(user_id=user_id, action=action, object_type="bot", object_id=str(bot_id),
                              details=details)

    async def start_bot(self, user_id: int, bot_id: int) -> None:
        """Validate the settings, mark RUNNING, attach and (GRID) plan the ladder. PlanRefused propagates."""
        row = await self._own(user_id, bot_id)
        if row.status in (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPING):
            return
        decode_settings(row.kind, row.settings)  # pydantic ValidationError for bad settings
        state = dict(row.state or {})
        if row.kind == BotKind.GRID:
            state["strategy"] = None  # a fresh ladder every start
        state["started_ms"] = self.engine.clock.now_ms()
        state.pop("candle", None)
        row.state, row.status, row.started_at, row.last_error = state, BotStatus.RUNNING, _now(), None
        await row.save(update_fields=["state", "status", "started_at", "last_error"])
        h = await self.engine.attach(row)
        self.engine.ensure_timeframe_job(h.timeframe)
        async with self.engine.locks.hold(h.account_id, h.symbol):
            if h.kind == BotKind.GRID:
                try:
                    await self.engine.start_grid(h)
                except Exception:
                    self.engine.detach(h.id)
                    await StrategyBot.filter(id=bot_id).update(status=BotStatus.STOPPED, stopped_at=_now())
                    raise
                await grid_runner.sync(h)
        await self._audit(user_id, "bot.start", bot_id, kind=row.kind.value, symbol=row.symbol)

    async def pause_bot(self, user_id: int, bot_id: int) -> None:
        await self._set_status(user_id, bot_id, BotStatus.PAUSED, BotStatus.RUNNING, "bot.pause")

    async def resume_bot(self, user_id: int, bot_id: int) -> None:
        await self._set_status(user_id, bot_id, BotStatus.RUNNING, BotStatus.PAUSED, "bot.resume")

    async def _set_status(self, user_id: int, bot_id: int, new: BotStatus, old: BotStatus, action: str) -> None:
        row = await self._own(user_id, bot_id)
        if row.status != old:
            return
        h = self.engine.handles.get(bot_id)
        if h is not None:
            async with self.engine.locks.hold(h.account_id, h.symbol):
                h.status = new
                await StrategyBot.filter(id=bot_id).update(status=new)
        else:
            await StrategyBot.filter(id=bot_id).update(status=new)
        await self._audit(user_id, action, bot_id)

    async def stop_bot(self, user_id: int, bot_id: int, close_position: bool, *, emergency: bool = False) -> None:
        """Cancel every order of the bot, then close its position (market, reduce-only) or leave it as it is."""
        row = await self._own(user_id, bot_id)
        if row.status in (BotStatus.STOPPED, BotStatus.DRAFT):
            return
        h = self.engine.handles.get(bot_id) or await self.engine.attach(row)
        async with self.engine.locks.hold(h.account_id, h.symbol):
            cancelled, closes = await self._cancel_all(h), self._closes(h, close_position)
            sent = Decimal(0)
            for i in closes:
                sent += await _send_close(h, i)
            status = BotStatus.STOPPING if sent else BotStatus.STOPPED
            await h.save(status=status)
            await StrategyBot.filter(id=bot_id).update(stopped_at=_now())
            await notify(user_id, "bot_stopped",
                         {"bot_id": bot_id, "symbol": h.symbol, "kind": h.kind.value, "close_position": close_position,
                          "cancelled": cancelled, "closed": str(sent), "emergency": emergency,
                          "_market": events.market_info(h.market)},
                         dedup("bot_stopped", bot_id, h.meta.get("started_ms", 0)))
            if status == BotStatus.STOPPED:
                self.engine.detach(bot_id)
        await self._audit(user_id, "bot.stop_all" if emergency else "bot.stop", bot_id,
                          close_position=close_position, cancelled=cancelled, closed=str(sent))

    async def stop_all(self, user_id: int, close_positions: bool) -> int:
        """Emergency: every active bot of the user stopped; returns how many."""
        rows = await StrategyBot.filter(user_id=user_id, status__in=[BotStatus.RUNNING, BotStatus.PAUSED,
                                                                     BotStatus.ERROR, BotStatus.STOPPING])
        for row in rows:
            try:
                await self.stop_bot(user_id, row.id, close_positions, emergency=True)
            except Exception:
                log.exception("stop-all: bot %s failed to stop", row.id)
        return len(rows)

    async def _cancel_all(self, h: BotHandle) -> int:
        n = 0
        now = wall_ms()
        for r in await Order.filter(bot_id=h.id, status__in=list(OPEN_STATES)).order_by("id"):
            if r.status != OrderStatus.OPEN:
                r = await h.life.resolve_unknown(r, now)
            if r.status == OrderStatus.OPEN:
                r = await h.life.cancel(r)
                n += r.status == OrderStatus.CANCELED
        return n

    def _closes(self, h: BotHandle, close_position: bool) -> list[Intent]:
        s = h.strat
        if isinstance(s, GridState):
            h.meta["close_avg"] = grid.average_entry(s)
            h.strat, intents = grid.stop(h.settings, s, close_position)
            return [i for i in intents if i.kind == IntentKind.CLOSE]
        if isinstance(s, HyperRsiState) and close_position and s.size > 0:
            side = "sell" if s.side == "long" else "buy"
            h.strat = replace(s, pending="close")
            return [Intent(IntentKind.CLOSE, side, "user_stop", amount=s.size,
                           reduce_only=True)]
        return []

    async def finish_stopping(self, h: BotHandle) -> None:
        """A STOPPING bot becomes STOPPED once none of its orders is open any more (its close filled)."""
        if await Order.filter(bot_id=h.id, status__in=list(OPEN_STATES)).exists():
            return
        await h.save(status=BotStatus.STOPPED)
        self.engine.detach(h.id)


async def _send_close(h: BotHandle, intent: Intent) -> Decimal:
    """`intent.amount` in base currency; returns what was sent."""
    if h.kind == BotKind.HYPERRSI:
        order = await hyperrsi_runner._send_market(h, hyperrsi_runner.OrderRole.CLOSE, intent.side,
                                                   intent.amount, intent.reason)
        return order.amount if order is not None and order.status not in (OrderStatus.REJECTED,) else Decimal(0)
    _, sent = await grid_runner.stop_orders(h, [intent])
    return sent
