"""The scheduler role's ticks: every candle close reached, one job per market (venue, symbol, timeframe); every few
seconds, one supervision job per market with something in flight; every ten minutes, one reconciliation job. Each
under its idempotent id, so a second scheduler or a restarted one adds nothing the stream has not dropped."""

from __future__ import annotations

import asyncio
import logging
import time

from engine.candles import timeframe_ms
from engine.jobs.markets import active_markets, markets_in_flight
from engine.jobs.tasks import SUPERVISE_INTERVAL_S, JobTasks
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


RECONCILE_INTERVAL_S = 600.0  # its reconcile_interval_s


class PeriodicEmitter:
    """Supervision of every market with something in flight (markets_in_flight) each `interval_s` and the
    reconciliation each `reconcile_interval_s`, in wall time (what an exchange's fills wait on), numbered by bucket =
    wall seconds // interval: every scheduler names a bucket's jobs alike. `reconcile_interval_s` None: no
    reconciliation jobs."""

    def __init__(self, tasks: JobTasks, *, interval_s: float = SUPERVISE_INTERVAL_S,
                 reconcile_interval_s: float | None = RECONCILE_INTERVAL_S):
        self.tasks, self.interval_s, self.reconcile_interval_s = tasks, interval_s, reconcile_interval_s
        self.last_bucket = self.last_reconcile = -1

    async def emit(self, now_ms: int, wall_s: float) -> list[str]:
        """The jobs of the buckets `wall_s` is in not emitted yet; `now_ms` is the market clock the jobs run at."""
        ids = []
        bucket = int(wall_s // self.interval_s)
        if bucket > self.last_bucket:
            ids += [await self.tasks.kick_market_supervise(venue, symbol, tf, bucket, now_ms)
                    for venue, symbol, tf in sorted(await markets_in_flight())]
            self.last_bucket = bucket
        rc = -1 if self.reconcile_interval_s is None else int(wall_s // self.reconcile_interval_s)
        if rc > self.last_reconcile:
            ids.append(await self.tasks.kick_reconcile(rc, now_ms))
            self.last_reconcile = rc
        return ids

    async def run(self, clock: Clock, stop: asyncio.Event) -> None:
        """Wakes at the start of every interval until `stop` is set."""
        while not stop.is_set():
            wall = time.time()
            try:
                await asyncio.wait_for(stop.wait(), self.interval_s - wall % self.interval_s)
            except TimeoutError:
                try:
                    await self.emit(clock.now_ms(), time.time())
                except Exception:
                    log.exception("emitting the supervision jobs failed")
