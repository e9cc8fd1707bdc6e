"""The control API the chat calls: start, stop (close or keep the position), pause, resume, emergency stop-all, and
settings changed (live while running, engine/runtime/live_edit.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from db.enums import BotStatus
from db.models import StrategyBot, User
from engine.market.candle_cache import CandleCache
from engine.market.clock import Clock
from engine.runtime.bots import decode_settings
from engine.runtime.live_edit import LiveEditRefused, update_settings
from engine.runtime.locks import SymbolLocks
from engine.runtime.registry import Registry, runner_for
from engine.runtime.stopping import audit, now, stop_bot

log = logging.getLogger(__name__)

__all__ = ["Control", "LiveEditRefused", "NotYours"]


class NotYours(Exception):
    """The bot does not exist or belongs to someone else (the same answer for both, on purpose)."""


class Control:
    """Acts on the registry's bots under their locks; `new_timeframe` is told of each started bot's timeframe (the
    scheduling adds its candle-close job)."""

    def __init__(self, registry: Registry, locks: SymbolLocks, clock: Clock, candles: CandleCache,
                 new_timeframe: Callable[[str], None] = lambda tf: None):
        self.registry, self.locks, self.clock, self.candles = registry, locks, clock, candles
        self.new_timeframe = new_timeframe

    @staticmethod
    async def _own(user_id: int, bot_id: int) -> StrategyBot:
        row = await StrategyBot.get_or_none(id=bot_id)
        if row is None or row.user_id != user_id:
            raise NotYours(bot_id)
        return row

    async def start_bot(self, user_id: int, bot_id: int) -> None:
        """Validate the settings, mark RUNNING, attach and (GRID) plan the ladder. PlanRefused propagates."""
        row = await self._own(user_id, bot_id)
        if row.status in (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPING):
            return
        runner = runner_for(row.kind)
        decode_settings(runner.settings_model, row.settings)  # pydantic ValidationError for bad settings
        state = dict(row.state or {})
        if runner.fresh_on_start:
            state["strategy"] = None
        state["started_ms"] = self.clock.now_ms()
        state.pop("candle", None)
        row.state, row.status, row.started_at, row.last_error = state, BotStatus.RUNNING, now(), None
        await row.save(update_fields=["state", "status", "started_at", "last_error"])
        h = await self.registry.attach(row)
        self.new_timeframe(h.timeframe)
        async with self.locks.hold(h.account_id, h.symbol):
            try:
                await runner.start(h, self.candles, self.clock.now_ms())
            except Exception:
                await self.registry.detach(h.id)
                await StrategyBot.filter(id=bot_id).update(status=BotStatus.STOPPED, stopped_at=now())
                raise
            await h.resync()
            await self.registry.release(h)  # where workers run the bots, their next job attaches it as stored
        await audit(user_id, "bot.start", bot_id, kind=row.kind.value, symbol=row.symbol)

    async def pause_bot(self, user_id: int, bot_id: int) -> None:
        await self._set_status(user_id, bot_id, BotStatus.PAUSED, BotStatus.RUNNING, "bot.pause")

    async def resume_bot(self, user_id: int, bot_id: int) -> None:
        await self._set_status(user_id, bot_id, BotStatus.RUNNING, BotStatus.PAUSED, "bot.resume")

    async def _set_status(self, user_id: int, bot_id: int, new: BotStatus, old: BotStatus, action: str) -> None:
        row = await self._own(user_id, bot_id)
        if row.status != old:
            return
        h = self.registry.handles.get(bot_id)
        if h is not None:
            async with self.locks.hold(h.account_id, h.symbol):
                h.status = new
                await StrategyBot.filter(id=bot_id).update(status=new)
        elif not self.registry.runs_bots:  # not in the middle of a worker's job, which writes the row back
            async with self.locks.hold(row.account_id, row.symbol):
                if not await StrategyBot.filter(id=bot_id, status=old).update(status=new):
                    return  # stopped or changed elsewhere meanwhile: nothing done, nothing to record
        else:
            await StrategyBot.filter(id=bot_id).update(status=new)
        await audit(user_id, action, bot_id)

    async def stop_bot(self, user_id: int, bot_id: int, close_position: bool, *, emergency: bool = False,
                       card: list[int] | None = None) -> BotStatus:
        """Cancel every order of the bot, then close its position (market, reduce-only) or leave it as it is.
        Returns STOPPING while the close is out, else STOPPED; `card` (chat id, message id) is refreshed when done."""
        row = await self._own(user_id, bot_id)
        return await stop_bot(self.registry, self.locks, row, close_position, emergency=emergency,
                              now_ms=self.clock.now_ms(), card=card)

    async def update_settings(self, user_id: int, bot_id: int, changes: Mapping[str, Any], *,
                              action: str = "bot.setting", extra: Mapping[str, Any] | None = None) -> dict[str, list]:
        """Merge `changes` into the bot's settings and record who did it (engine/settings_log.py); returns the diff.
        A running or paused bot takes them from its next candle, its resting orders re-synced once; pydantic's
        ValidationError when they do not hold together, LiveEditRefused for what needs a stop."""
        row = await self._own(user_id, bot_id)
        actor = await User.filter(id=user_id).first().values_list("telegram_id", flat=True)
        return await update_settings(self.registry, self.locks, row, changes, actor=actor, action=action,
                                     extra=extra or {})

    async def stop_all(self, user_id: int, close_positions: bool) -> int:
        """Emergency: every active bot of the user stopped; returns how many."""
        rows = await StrategyBot.filter(user_id=user_id, status__in=[BotStatus.RUNNING, BotStatus.PAUSED,
                                                                     BotStatus.ERROR, BotStatus.STOPPING])
        for row in rows:
            try:
                await stop_bot(self.registry, self.locks, row, close_positions, emergency=True,
                               now_ms=self.clock.now_ms())
            except Exception:
                log.exception("stop-all: bot %s failed to stop", row.id)
        return len(rows)
