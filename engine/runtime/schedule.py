"""The engine's APScheduler jobs, their triggers aligned to candle closes, and the options every job uses."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
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
# The replay tick: once per replayed minute, but never closer than this in wall time (above 1200× one tick covers
# several replayed minutes). While paused it waits for the speed change that reschedules it.
REPLAY_TICK_MIN_S = 0.05
REPLAY_STEP_MS = 60_000
REPLAY_PAUSED_WAIT = timedelta(days=1)


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


class ReplayTick(BaseTrigger):
    """Fires when the replayed market reaches its next minute, at the clock's current speed: 1× every 60 s, 60×
    every second, 600× every 0.1 s, aligned to the replayed minutes (a 1m candle is taken as soon as it closed)."""

    def __init__(self, clock: ReplayClock):
        self.clock = clock

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        soonest = now + timedelta(seconds=REPLAY_TICK_MIN_S)  # always after `now`: APScheduler loops until it is
        market = self.clock.now_ms()
        wall_ms = self.clock.wall_ms_at(market - market % REPLAY_STEP_MS + REPLAY_STEP_MS)
        if wall_ms is None:
            return now + REPLAY_PAUSED_WAIT
        return max(soonest, datetime.fromtimestamp(wall_ms / 1000, UTC))


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
                 reconciler: Reconciler, clock: Clock, *, grid_interval_s: float = 5.0,
                 reconcile_interval_s: float = 600.0):
        self.registry, self.feeder, self.supervisor, self.cycle = registry, feeder, supervisor, cycle
        self.reconciler, self.clock = reconciler, clock
        self.grid_interval_s, self.reconcile_interval_s = grid_interval_s, reconcile_interval_s
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._inflight: set[asyncio.Task] = set()
        self._closing = False
        self._unsubscribe = clock.subscribe(self.retime_tick) if isinstance(clock, ReplayClock) else None

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
            self._add(self.tick, ReplayTick(self.clock), "tick", 10)
        else:
            for tf in sorted(self.registry.timeframes() | {"1m"}, key=timeframe_ms):
                self._add(self.run_close, candle_close_trigger(tf), f"close:{tf}", misfire_grace(tf), tf)
        grace = max(5, int(self.grid_interval_s))
        self._add(self.supervisor.supervise, every(self.grid_interval_s), "supervise", grace)
        self._add(self.reconciler.reconcile_all, every(self.reconcile_interval_s), "reconcile", 60)
        if not isinstance(self.clock, ReplayClock):
            self._add(self.daily_summaries, DAILY_SUMMARY, "daily_summary", 3600)
        self.scheduler.start()
        if isinstance(self.clock, ReplayClock) and self.clock.speed <= 0:
            self.scheduler.pause_job("tick")  # started paused: set_speed resumes it

    def retime_tick(self, speed: float) -> None:
        """The replay clock's speed changed: paused, the tick stops (no candle closes); otherwise its next run is
        the next replayed minute at the new speed."""
        if self._closing or not self.scheduler.running or self.scheduler.get_job("tick") is None:
            return
        if speed > 0:
            self.scheduler.reschedule_job("tick", trigger=ReplayTick(self.clock))
        else:
            self.scheduler.pause_job("tick")

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
        if self._unsubscribe is not None:
            self._unsubscribe()
        pending = [t for t in self._inflight if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a callback of the loop
