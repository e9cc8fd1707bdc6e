"""The engine's APScheduler jobs, their triggers aligned to candle closes, and the options every job uses."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from engine.candles import timeframe_ms
from engine.market.clock import Clock, ReplayClock
from engine.runtime.cycle import CandleCycle
from engine.runtime.daily import write_daily_summaries
from engine.runtime.paper_feed import PaperFeeder
from engine.runtime.reconcile import Reconciler
from engine.runtime.registry import Registry
from engine.runtime.supervise import Supervisor

log = logging.getLogger(__name__)

# Seconds after a candle's close before it is fetched: exchanges publish the closed candle a moment later.
CLOSE_DELAY_S = 2
# The daily summaries of the UTC day just ended: after the day's last fills (and the 1d close) are in.
DAILY_SUMMARY = CronTrigger(hour=0, minute=5, second=0, timezone="UTC")


def candle_close_trigger(timeframe: str, delay_s: int = CLOSE_DELAY_S) -> CronTrigger:
    """Fires `delay_s` seconds after every close of `timeframe` (UTC, aligned to the epoch like the candles)."""
    ms = timeframe_ms(timeframe)
    minutes = ms // 60_000
    if ms % 60_000 or minutes < 1:
        raise ValueError(f"timeframe {timeframe!r} is not a whole number of minutes")
    if minutes < 60:
        if 60 % minutes:
            raise ValueError(f"timeframe {timeframe!r} does not divide an hour")
        return CronTrigger(minute=f"*/{minutes}", second=delay_s, timezone="UTC")
    hours = minutes // 60
    if minutes % 60 == 0 and hours < 24:
        if 24 % hours:
            raise ValueError(f"timeframe {timeframe!r} does not divide a day")
        return CronTrigger(hour=f"*/{hours}", minute=0, second=delay_s, timezone="UTC")
    if minutes == 1440:
        return CronTrigger(hour=0, minute=0, second=delay_s, timezone="UTC")
    raise ValueError(f"unsupported timeframe {timeframe!r}")


def misfire_grace(timeframe: str) -> int:
    """How late a candle-close job may still run: a quarter of the candle, between 10 s and 5 min."""
    return int(min(max(timeframe_ms(timeframe) / 4000, 10), 300))


def job_options(grace_s: int) -> dict:
    """One run at a time, missed runs collapsed into one, late runs allowed within the grace time."""
    return {"max_instances": 1, "coalesce": True, "misfire_grace_time": grace_s}


def every(seconds: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds, timezone="UTC")


def close_time_ms(fire_time_ms: int, timeframe: str) -> int:
    """The close (= open of the next candle) that a trigger firing at `fire_time_ms` belongs to."""
    ms = timeframe_ms(timeframe)
    return fire_time_ms - fire_time_ms % ms


def as_timedelta(timeframe: str) -> timedelta:
    return timedelta(milliseconds=timeframe_ms(timeframe))


class Jobs:
    """The engine's APScheduler jobs: candle closes (or the replay tick), supervision, reconciliation, the daily
    summaries (live clock). Every job is guarded: refused once shutting down, tracked so that shutdown waits for
    it, never crashing the loop."""

    def __init__(self, registry: Registry, feeder: PaperFeeder, supervisor: Supervisor, cycle: CandleCycle,
                 reconciler: Reconciler, clock: Clock, *, replay_speed: float = 60.0, grid_interval_s: float = 5.0,
                 reconcile_interval_s: float = 600.0):
        self.registry, self.feeder, self.supervisor, self.cycle = registry, feeder, supervisor, cycle
        self.reconciler, self.clock, self.replay_speed = reconciler, clock, replay_speed
        self.grid_interval_s, self.reconcile_interval_s = grid_interval_s, reconcile_interval_s
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._inflight: set[asyncio.Task] = set()
        self._closing = False

    async def feed_paper(self, now_ms: int) -> int:
        return await self.feeder.feed(self.registry.groups(), now_ms)

    async def tick(self, now_ms: int | None = None) -> None:
        """Replay/test driver: feed paper exchanges, process fills, then every candle close reached by now."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        await self.feed_paper(now)
        await self.supervisor.supervise()
        for tf in sorted(self.registry.timeframes(), key=timeframe_ms):
            await self.cycle.close_reached(tf, now)

    async def run_close(self, tf: str) -> None:
        """The candle-close job of `tf` (live clock): paper fed, fills in, then the close evaluated."""
        now = self.clock.now_ms()
        await self.feed_paper(now)
        await self.supervisor.supervise()
        await self.cycle.close_reached(tf, now)

    async def daily_summaries(self) -> None:
        """The users of the "daily" notification level get the day that just ended (engine/runtime/daily.py)."""
        await write_daily_summaries(self.clock.now_ms())

    def start(self) -> None:
        if isinstance(self.clock, ReplayClock):
            self._add(self.tick, every(max(0.05, 60.0 / self.replay_speed)), "tick", 10)
        else:
            for tf in sorted(self.registry.timeframes() | {"1m"}, key=timeframe_ms):
                self._add(self.run_close, candle_close_trigger(tf), f"close:{tf}", misfire_grace(tf), tf)
        grace = max(5, int(self.grid_interval_s))
        self._add(self.supervisor.supervise, every(self.grid_interval_s), "supervise", grace)
        self._add(self.reconciler.reconcile_all, every(self.reconcile_interval_s), "reconcile", 60)
        if not isinstance(self.clock, ReplayClock):
            self._add(self.daily_summaries, DAILY_SUMMARY, "daily_summary", 3600)
        self.scheduler.start()

    def _add(self, fn, trigger, job_id: str, grace: int, *args) -> None:
        self.scheduler.add_job(self.guard, trigger, args=[fn, *args], id=job_id, replace_existing=True,
                               **job_options(grace))

    def ensure_timeframe_job(self, tf: str) -> None:
        """A bot started later on a new timeframe gets its candle-close job (live clock only)."""
        if self.scheduler.running and not isinstance(self.clock, ReplayClock) and \
                self.scheduler.get_job(f"close:{tf}") is None:
            self._add(self.run_close, candle_close_trigger(tf), f"close:{tf}", misfire_grace(tf), tf)

    async def guard(self, fn, *args) -> None:
        if self._closing:
            return
        task = asyncio.current_task()
        self._inflight.add(task)
        try:
            await fn(*args)
        except Exception:
            log.exception("job %s failed", getattr(fn, "__name__", fn))
        finally:
            self._inflight.discard(task)

    async def shutdown(self, timeout: float = 60.0) -> None:
        """No new jobs; the running ones finish (each DB change is one transaction), then the scheduler stops: its
        executor cancels the jobs still running when it shuts down, so it is shut down after they are done."""
        self._closing = True
        pending = [t for t in self._inflight if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a callback of the loop
