"""The scheduler role's tick: every candle close reached, one job per market (venue, symbol, timeframe) under its
idempotent id, so a second scheduler or a restarted one adds nothing the stream has not dropped."""

from __future__ import annotations

import asyncio
import logging

from engine.candles import timeframe_ms
from engine.jobs.markets import active_markets
from engine.jobs.tasks import JobTasks
from engine.market.clock import Clock
from engine.runtime.schedule import CLOSE_DELAY_S

log = logging.getLogger(__name__)
PAUSED_POLL_S = 0.25


class CloseEmitter:
    """Remembers the last close emitted per timeframe, like CandleCycle.close_reached does in one process."""

    def __init__(self, tasks: JobTasks):
        self.tasks = tasks
        self.last_close: dict[str, int] = {}

    async def emit(self, now_ms: int) -> list[str]:
        """The jobs of every close reached by `now_ms` not emitted yet (the latest one per timeframe)."""
        markets = await active_markets()
        due = {}
        for tf in {m[2] for m in markets}:
            close = now_ms - now_ms % timeframe_ms(tf)
            if close > self.last_close.get(tf, -1):
                due[tf] = close
        ids = [await self.tasks.kick_market_close(venue, symbol, tf, due[tf] - timeframe_ms(tf))
               for venue, symbol, tf in sorted(markets) if tf in due]
        self.last_close.update(due)
        return ids

    async def run(self, clock: Clock, stop: asyncio.Event) -> None:
        """Wakes `CLOSE_DELAY_S` after every minute (every timeframe closes on a minute) until `stop` is set."""
        while not stop.is_set():
            now = clock.now_ms()
            wake = now - now % 60_000 + 60_000 + CLOSE_DELAY_S * 1000
            speed = getattr(clock, "speed", 1.0)  # a replay clock runs faster (or is paused: look again soon)
            try:
                await asyncio.wait_for(stop.wait(), (wake - now) / 1000 / speed if speed > 0 else PAUSED_POLL_S)
            except TimeoutError:
                try:
                    await self.emit(clock.now_ms())
                except Exception:
                    log.exception("emitting the candle closes failed")
