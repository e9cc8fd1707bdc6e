"""The live engine, composed of its parts: the registry of bots and exchanges, the paper feeder, the candle cycle,
supervision, reconciliation, the control commands and the scheduled jobs. Nothing here reads os.environ."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from db.models import ExchangeAccount
from engine.exchange.protocol import Exchange
from engine.market.candle_cache import CandleCache
from engine.market.clock import Clock, RealClock, ReplayClock
from engine.market.replay import ReplaySource
from engine.runtime.control import Control
from engine.runtime.cycle import CandleCycle
from engine.runtime.heap import settle_heap
from engine.runtime.locks import SymbolLocks
from engine.runtime.paper_feed import PaperFeeder
from engine.runtime.reconcile import Reconciler
from engine.runtime.registry import ExchangeFactory, Registry
from engine.runtime.schedule import Jobs
from engine.runtime.supervise import Supervisor

REPLAY_WARMUP_MS = 7 * 86_400_000  # replay starts this far into the 1m data, so indicators have history


class Engine:
    """Create once per process; `await start()`, then `await shutdown()` on SIGTERM. `runs_bots` False: other
    processes (workers) run the bots, and this engine, never started, takes each bot and paper venue as stored for
    the chat's actions and reads (Registry.runs_bots)."""

    def __init__(self, *, vault: Any = None, clock: Clock | None = None, replay_dir: str | Path | None = None,
                 replay_speed: float = 60.0, replay_start_ms: int | None = None, redis: Any = None,
                 grid_interval_s: float = 5.0, reconcile_interval_s: float = 600.0,
                 exchange_factory: ExchangeFactory | None = None, urls_override: str | dict | None = None,
                 candle_keep: int = 12_000, unknown_grace_ms: int = 60_000, replay_source: Any = None,
                 parallel: int = 16, paper_only: bool = False, shared_locks: bool = True, runs_bots: bool = True):
        self.replay: Any = replay_source  # anything with fetch_ohlcv serving closed candles at the clock's time
        if replay_source is not None and clock is None:
            raise ValueError("a replay source comes with the clock it runs on")
        if replay_dir is not None and replay_source is None:
            probe = ReplaySource(replay_dir, RealClock())
            start = replay_start_ms
            if start is None:
                start = max(int(probe.candles(s, "1m").ts[0]) for s in probe.symbols()) + REPLAY_WARMUP_MS
            clock = clock or ReplayClock(start, replay_speed)
            self.replay = ReplaySource(replay_dir, clock)
        self.clock: Clock = clock or RealClock()
        self.market_data = CandleCache({"replay": self.replay} if self.replay is not None else {}, self.clock,
                                       keep=candle_keep)
        self.locks = SymbolLocks(redis, shared=shared_locks)
        self.feeder = PaperFeeder(self.market_data)
        self.registry = Registry(self.market_data, self.clock, self.feeder, vault=vault, replay=self.replay,
                                 factory=exchange_factory, urls_override=urls_override,
                                 unknown_grace_ms=unknown_grace_ms, paper_only=paper_only, runs_bots=runs_bots)
        self.supervisor = Supervisor(self.registry, self.locks, self.clock)
        self.cycle = CandleCycle(self.registry, self.market_data, self.locks, self.clock, parallel=parallel)
        self.reconciler = Reconciler(self.registry, self.locks, self.clock, parallel=parallel)
        self.jobs = Jobs(self.registry, self.feeder, self.supervisor, self.cycle, self.reconciler, self.clock,
                         grid_interval_s=grid_interval_s, reconcile_interval_s=reconcile_interval_s)
        self.control = Control(self.registry, self.locks, self.clock, self.market_data,
                               new_timeframe=self.jobs.ensure_timeframe_job)

    # ---- what the chat and the ops server read ----
    @property
    def handles(self) -> dict:
        return self.registry.handles

    @property
    def exchanges(self) -> dict[int, Exchange]:
        return self.registry.exchanges

    @property
    def scheduler(self):
        return self.jobs.scheduler

    @property
    def clock_control(self) -> ReplayClock | None:
        """The replay clock the user drives (`speed`, `set_speed(x)` with 0 = paused, `now_ms()`); None when the
        engine is not replaying on one (live market, or a test's manual clock)."""
        return self.clock if isinstance(self.clock, ReplayClock) else None

    async def exchange_for(self, account: ExchangeAccount) -> Exchange:
        return await self.registry.exchange_for(account)

    async def forget_account(self, account_id: int) -> None:
        await self.registry.forget_account(account_id)

    def last_closes(self) -> dict[str, int]:
        """The last candle close (epoch ms) evaluated per timeframe."""
        return dict(self.cycle.last_close)

    def waiting(self) -> set[int]:
        """Active bots not attached yet because their exchange could not be reached (retried)."""
        return set(self.registry.unattached)

    # ---- lifecycle ----
    async def start(self, *, schedule: bool = True, settle: bool = False) -> Counter:
        """Attach and reconcile every active bot (one recovery summary per user), then schedule the jobs. `settle`
        (the process's own engine, not a test's): the start-up heap is then set aside from the garbage collector
        (engine/runtime/heap.py)."""
        total = await self.reconciler.startup()
        if settle:
            settle_heap()
        if schedule:
            self.jobs.start()
        return total

    async def shutdown(self, timeout: float = 60.0) -> None:
        """SIGTERM: take no new jobs, let the running ones finish, close the exchanges."""
        await self.jobs.shutdown(timeout)
        await self.registry.close()
        await self.locks.close()

    # ---- the jobs, for drivers and tests ----
    async def tick(self, now_ms: int | None = None) -> None:
        await self.jobs.tick(now_ms)

    async def run_close(self, tf: str) -> None:
        await self.jobs.run_close(tf)

    async def feed_paper(self, now_ms: int) -> int:
        return await self.jobs.feed_paper(now_ms)

    async def supervise(self) -> int:
        return await self.supervisor.supervise()

    async def reconcile_all(self) -> Counter:
        return await self.reconciler.reconcile_all()


def build_engine(*, vault: Any, redis_url: str | None = None, replay_dir: str | Path | None = None,
                 replay_speed: float = 60.0, grid_interval_s: float = 5.0,
                 replay_start_ms: int | None = None, paper_only: bool = False,
                 shared_locks: bool = True, runs_bots: bool = True) -> Engine:
    """What bot/app.py calls with values from AppConfig (REDIS_URL, MARKET_REPLAY_DIR, MARKET_REPLAY_SPEED)."""
    redis = None
    if redis_url:
        from redis.asyncio import from_url

        redis = from_url(redis_url)
    return Engine(vault=vault, redis=redis, replay_dir=replay_dir, replay_speed=replay_speed,
                  grid_interval_s=grid_interval_s, replay_start_ms=replay_start_ms, paper_only=paper_only,
                  shared_locks=shared_locks, runs_bots=runs_bots)
