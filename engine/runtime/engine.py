"""The live engine: exchanges per account, shared market data, locks, bot runners and their APScheduler jobs."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from db.enums import BotKind, BotStatus
from db.models import ExchangeAccount, StrategyBot
from engine import metrics
from engine.candles import timeframe_ms
from engine.exchange.factory import make_exchange
from engine.exchange.protocol import Exchange, ExchangeError, ExchangeUnavailable, UnknownOutcome
from engine.exchange.units import BaseUnits
from engine.market.clock import Clock, RealClock, ReplayClock
from engine.market.data import MarketData
from engine.market.replay import ReplaySource
from engine.runtime import events, fills, grid_runner, hyperrsi_runner, inputs, positions
from engine.runtime.bots import BotHandle, make_handle
from engine.runtime.locks import SymbolLocks
from engine.runtime.outbox import dedup, notify
from engine.runtime.reconcile import reconcile
from engine.runtime.schedule import candle_close_trigger, every, job_options, misfire_grace
from engine.strategies.grid import PlanRefused

log = logging.getLogger(__name__)

ACTIVE = (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPING)
ExchangeFactory = Callable[[ExchangeAccount], Exchange | Awaitable[Exchange]]
REPLAY_WARMUP_MS = 7 * 86_400_000  # replay starts this far into the 1m data, so indicators have history


class Engine:
    """Create once per process; `await start()`, then `await shutdown()` on SIGTERM. Nothing here reads os.environ."""

    def __init__(self, *, vault: Any = None, clock: Clock | None = None, replay_dir: str | Path | None = None,
                 replay_speed: float = 60.0, replay_start_ms: int | None = None, redis: Any = None,
                 grid_interval_s: float = 5.0, reconcile_interval_s: float = 600.0,
                 exchange_factory: ExchangeFactory | None = None, urls_override: str | dict | None = None,
                 candle_keep: int = 12_000, unknown_grace_ms: int = 60_000, replay_source: Any = None,
                 parallel: int = 16):
        self.vault, self.replay_speed = vault, replay_speed
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
        self.market_data = MarketData({"replay": self.replay} if self.replay is not None else {}, self.clock,
                                      keep=candle_keep)
        self.locks = SymbolLocks(redis)
        self.grid_interval_s, self.reconcile_interval_s = grid_interval_s, reconcile_interval_s
        self._factory, self.urls_override = exchange_factory, urls_override
        self.unknown_grace_ms, self.parallel = unknown_grace_ms, parallel
        self._unattached: set[int] = set()  # active bots whose attach failed (exchange down): retried
        self.exchanges: dict[int, Exchange] = {}
        self.public_sources: dict = {}  # keyless data gateways shared by the paper accounts, by (venue, market type)
        self.handles: dict[int, BotHandle] = {}
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._last_close: dict[str, int] = {}
        self._fed: dict[tuple[int, str], int] = {}
        self._feed_lock = asyncio.Lock()
        self._inflight: set[asyncio.Task] = set()
        self._closing = False
        self.started_ms = 0
        from engine.runtime.control import Control

        self.control = Control(self)

    # ---- exchanges, sources and bots ----
    async def exchange_for(self, account: ExchangeAccount) -> Exchange:
        ex = self.exchanges.get(account.id)
        if ex is None:
            ex = await self._make_exchange(account)
            self.exchanges[account.id] = ex
        return ex

    async def _make_exchange(self, account: ExchangeAccount) -> Exchange:
        if self._factory is not None:
            made = self._factory(account)
            made = await made if asyncio.iscoroutine(made) else made
            return made if isinstance(made, BaseUnits) else BaseUnits(made)  # the engine speaks base units only
        return make_exchange(account, self.vault, replay_source=self.replay, urls_override=self.urls_override,
                             public_sources=self.public_sources)

    def source_for(self, account: ExchangeAccount, ex: Exchange) -> str:
        if self.replay is not None and account.is_paper:
            return "replay"
        key = f"{ex.exchange_id}:{ex.market_type}"
        self.market_data.sources.setdefault(key, ex)
        return key

    async def attach(self, row: StrategyBot) -> BotHandle:
        account = await ExchangeAccount.get(id=row.account_id)
        ex = await self.exchange_for(account)
        h = await make_handle(row, ex, self.source_for(account, ex), unknown_grace_ms=self.unknown_grace_ms,
                              clock=self.clock.now_ms)
        if h.swap:
            try:
                await ex.set_leverage(h.symbol, h.settings.leverage)
            except ExchangeError as e:  # e.g. a position is open: keep the exchange's leverage
                log.info("bot %s: leverage not set (%s)", h.id, e.reason)
        await self._prime(h)
        self.handles[h.id] = h
        self._unattached.discard(h.id)
        return h

    async def _prime(self, h: BotHandle) -> None:
        """A simulated exchange that has no price for the symbol yet learns it from the last closed 1m candle
        before any order is placed, so nothing placed now is matched against a candle that closed before it."""
        feed = getattr(h.exchange, "feed", None)
        if not callable(feed):
            return
        try:
            await h.exchange.fetch_ticker(h.symbol)
            return
        except ExchangeError:
            pass
        candles = await self.market_data.closed_candles(h.source, h.symbol, "1m", 1)
        if len(candles):
            await feed(h.symbol, candles.rows()[-1])
            self._fed[(h.account_id, h.symbol)] = int(candles.ts[-1])

    def detach(self, bot_id: int) -> None:
        self.handles.pop(bot_id, None)

    async def forget_account(self, account_id: int) -> None:
        """A deleted account: its bots leave the engine, and its exchange, which holds the decrypted key, is closed
        and forgotten (it stayed in memory until a restart)."""
        for bot_id in [h.id for h in self.handles.values() if h.account_id == account_id]:
            self.detach(bot_id)
        ex = self.exchanges.pop(account_id, None)
        if ex is not None:
            await ex.close()

    def groups(self, pred: Callable[[BotHandle], bool] = lambda h: True) -> dict[tuple[int, str], list[BotHandle]]:
        out: dict[tuple[int, str], list[BotHandle]] = defaultdict(list)
        for h in self.handles.values():
            if pred(h):
                out[(h.account_id, h.symbol)].append(h)
        return out

    def timeframes(self) -> set[str]:
        return {h.timeframe for h in self.handles.values()}

    # ---- lifecycle ----
    async def start(self, *, schedule: bool = True) -> Counter:
        """Attach and reconcile every active bot (one recovery summary per user), then schedule the jobs.

        Bots are attached a page at a time and each page is reconciled `parallel` bots at a time (bots of one
        account and symbol still one after another, under their lock): with real exchanges every bot costs a few
        network round trips, which one after another made a restart with thousands of bots last an hour."""
        self.started_ms = self.clock.now_ms()
        per_user: dict[int, Counter] = defaultdict(Counter)
        sem = asyncio.Semaphore(self.parallel)

        async def recover(h: BotHandle) -> None:
            async with sem:
                counts = await self._recover(h)
            if counts is not None:
                per_user[h.user_id]["bots"] += 1
                per_user[h.user_id].update(counts)

        page: list[BotHandle] = []
        async for row in self._active_rows():
            try:
                page.append(await self.attach(row))
            except Exception as e:
                log.exception("bot %s could not be attached", row.id)
                self._unattached.add(row.id)
                await events.bot_error(row.user_id, row.id, row.symbol, type(e).__name__, "start", self.started_ms)
            if len(page) >= 500:
                await asyncio.gather(*(recover(h) for h in page))
                page = []
        await asyncio.gather(*(recover(h) for h in page))
        total: Counter = Counter()
        for user_id, c in per_user.items():
            total.update(c)
            if any(c[k] for k in ("fills", "closed_out", "adopted", "resolved", "placed")):
                await notify(user_id, "recovery_summary",
                             {k: c[k] for k in ("bots", "fills", "closed_out", "adopted", "resolved", "placed")},
                             dedup("recovery", user_id, self.started_ms))
        if schedule:
            self._schedule()
            self.scheduler.start()
        return total

    async def _recover(self, h: BotHandle) -> Counter | None:
        """Start-up reconciliation of one bot, then its resting orders as wanted; None (and told) if it failed."""
        async with self.locks.hold(h.account_id, h.symbol):
            try:
                counts = await reconcile(h, startup=True)
                counts["placed"] += await self._sync(h)
                return counts
            except Exception as e:
                log.exception("bot %s: reconciliation failed", h.id)
                await events.bot_error(h.user_id, h.id, h.symbol, type(e).__name__, "reconcile", self.started_ms)
                return None

    @staticmethod
    async def _active_rows(page: int = 500) -> AsyncIterator[StrategyBot]:
        """Active bots in id order, one page of rows at a time: all 10,000 rows at once were tens of MB of
        short-lived model instances, interleaved with the handles built meanwhile (peak RSS, never returned)."""
        last = 0
        while True:
            rows = await StrategyBot.filter(status__in=list(ACTIVE), id__gt=last).order_by("id").limit(page)
            for row in rows:
                yield row
            if len(rows) < page:
                return
            last = rows[-1].id

    def _schedule(self) -> None:
        if isinstance(self.clock, ReplayClock):
            self._add(self.tick, every(max(0.05, 60.0 / self.replay_speed)), "tick", 10)
        else:
            for tf in sorted(self.timeframes() | {"1m"}, key=timeframe_ms):
                self._add(self.run_close, candle_close_trigger(tf), f"close:{tf}", misfire_grace(tf), tf)
        self._add(self.supervise, every(self.grid_interval_s), "supervise", max(5, int(self.grid_interval_s)))
        self._add(self.reconcile_all, every(self.reconcile_interval_s), "reconcile", 60)

    def _add(self, fn, trigger, job_id: str, grace: int, *args) -> None:
        self.scheduler.add_job(self._guard, trigger, args=[fn, *args], id=job_id, replace_existing=True,
                               **job_options(grace))

    def ensure_timeframe_job(self, tf: str) -> None:
        """A bot started later on a new timeframe gets its candle-close job (live clock only)."""
        if self.scheduler.running and not isinstance(self.clock, ReplayClock) and \
                self.scheduler.get_job(f"close:{tf}") is None:
            self._add(self.run_close, candle_close_trigger(tf), f"close:{tf}", misfire_grace(tf), tf)

    async def _guard(self, fn, *args) -> None:
        """Every job: refused once shutting down, tracked so shutdown can wait for it, never crashing the loop."""
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
        """SIGTERM: take no new jobs, let the running ones finish (each DB change is one transaction), close."""
        self._closing = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        pending = [t for t in self._inflight if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        for ex in [*self.exchanges.values(), *self.public_sources.values()]:
            try:
                await ex.close()
            except Exception:
                log.exception("closing an exchange failed")

    # ---- jobs ----
    async def tick(self, now_ms: int | None = None) -> None:
        """Replay/test driver: feed paper exchanges, process fills, then every candle close reached by now."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        await self.feed_paper(now)
        await self.supervise()
        for tf in sorted(self.timeframes(), key=timeframe_ms):
            close = now - now % timeframe_ms(tf)
            if close > self._last_close.get(tf, -1):
                self._last_close[tf] = close
                await self.on_close(tf, close)

    async def run_close(self, tf: str) -> None:
        now = self.clock.now_ms()
        close = now - now % timeframe_ms(tf)
        await self.feed_paper(now)
        await self.supervise()
        if close > self._last_close.get(tf, -1):
            self._last_close[tf] = close
            await self.on_close(tf, close)

    async def feed_paper(self, now_ms: int) -> int:
        """Paper exchanges match their resting orders on every 1m candle closed since they last saw one."""
        fed = 0
        rows_of: dict[tuple[str, str, int], list[list[float]]] = {}  # one fetch per symbol for every account
        async with self._feed_lock:
            for (account_id, symbol), hs in self.groups().items():
                ex = hs[0].exchange
                if not callable(getattr(ex, "feed", None)):  # only simulated exchanges are fed candles
                    continue
                last = self._fed.get((account_id, symbol))
                if last is None:
                    try:
                        last = (await ex.fetch_ticker(symbol)).ts
                    except ExchangeError:
                        last = None
                n = 1 if last is None else int(min(max((now_ms - last) // 60_000, 1), 1440))
                key = (hs[0].source, symbol, n)
                if key not in rows_of:
                    rows_of[key] = (await self.market_data.closed_candles(hs[0].source, symbol, "1m", n)).rows()
                for row in rows_of[key]:
                    if last is None or row[0] > last:
                        await ex.feed(symbol, row)
                        last = row[0]
                        fed += 1
                if last is not None:
                    self._fed[(account_id, symbol)] = int(last)
        return fed

    async def supervise(self) -> int:
        """Fills of every bot (one trades request per account and symbol), then repairs of the resting orders."""
        total = 0
        for bot_id in list(self._unattached):
            row = await StrategyBot.get_or_none(id=bot_id, status__in=list(ACTIVE))
            if row is None:
                self._unattached.discard(bot_id)
                continue
            try:
                h = await self.attach(row)
                h.dirty = True
            except Exception:
                log.info("bot %s: still cannot attach", bot_id)
        for (account_id, symbol), hs in self.groups().items():
            async with self.locks.hold(account_id, symbol):
                try:
                    total += await fills.poll(hs)
                except Exception as e:
                    await self._error(hs, e, "supervise")
                    continue
                for h in hs:
                    try:
                        await self._after_fills(h)
                    except Exception as e:
                        await self._error([h], e, "supervise")
        return total

    async def _after_fills(self, h: BotHandle) -> None:
        if h.kind == BotKind.HYPERRSI:
            await hyperrsi_runner.check_pending(h)
        if h.status == BotStatus.STOPPING:
            await self.control.finish_stopping(h)
            return
        if h.dirty:
            await self._sync(h)

    async def _sync(self, h: BotHandle) -> int:
        if h.status == BotStatus.STOPPING:
            return 0
        runner = hyperrsi_runner if h.kind == BotKind.HYPERRSI else grid_runner
        return len((await runner.sync(h)).placed)

    def last_closes(self) -> dict[str, int]:
        """The last candle close (epoch ms) evaluated per timeframe."""
        return dict(self._last_close)

    def waiting(self) -> set[int]:
        """Active bots not attached yet because their exchange could not be reached (retried)."""
        return set(self._unattached)

    async def on_close(self, tf: str, close_ms: int) -> None:
        """One candle close of `tf`, timed for /metrics (see `_on_close`)."""
        with metrics.CANDLE_CYCLE.labels(tf).time():
            await self._on_close(tf, close_ms)
        metrics.LAST_CLOSE.labels(tf).set(close_ms / 1000)

    async def _on_close(self, tf: str, close_ms: int) -> None:
        """One candle close of `tf`: one fetch and one indicator computation per symbol, then every bot on it.

        Fetches run concurrently, and so do the (account, symbol) groups of bots (each under its lock), at most
        `parallel` at a time: with a real exchange each order is a network round trip.
        """
        step = timeframe_ms(tf)
        candle_ts = close_ms - step
        by_source: dict[tuple[str, str], list[BotHandle]] = defaultdict(list)
        for h in self.handles.values():
            if h.timeframe == tf and h.status in (BotStatus.RUNNING, BotStatus.PAUSED):
                by_source[(h.source, h.symbol)].append(h)
        warm: dict[tuple, int] = {}
        for hs in by_source.values():
            for h in hs:
                key = inputs.params_key(h.settings)
                if key not in warm:
                    warm[key] = inputs.warmup(h.settings)
        sem = asyncio.Semaphore(self.parallel)

        async def fetch(source: str, symbol: str, n: int):
            async with sem:
                try:
                    return await self.market_data.closed_candles(source, symbol, tf, n)
                except ExchangeError as e:  # the next close, or a coalesced rerun, catches up
                    log.warning("%s %s %s: candles unavailable (%s)", source, symbol, tf, e.reason)
                    return None

        keys = list(by_source)
        fetched = await asyncio.gather(*(fetch(src, sym, max(warm[inputs.params_key(h.settings)]
                                                            for h in by_source[(src, sym)])) for src, sym in keys))
        work: dict[tuple[int, str], list[tuple[BotHandle, Any, Any]]] = defaultdict(list)
        for (source, symbol), candles in zip(keys, fetched, strict=True):
            if candles is None or len(candles) == 0 or int(candles.ts[-1]) != candle_ts:
                log.info("%s %s %s: candle %s not available", source, symbol, tf, candle_ts)
                continue
            series: dict[tuple, Any] = {}
            for h in by_source[(source, symbol)]:
                key = inputs.params_key(h.settings)
                if key not in series:
                    fn = inputs.hyperrsi_inputs if h.kind == BotKind.HYPERRSI else inputs.grid_inputs
                    series[key] = fn(h.settings, candles[-warm[key]:]).at(-1)
                work[(h.account_id, symbol)].append((h, series[key], candles))

        async def run(group: tuple[int, str], items) -> None:
            async with sem, self.locks.hold(*group):
                for h, c, candles in items:
                    try:
                        await self._evaluate(h, c, candles, candle_ts)
                    except Exception as e:
                        await self._error([h], e, "candle")

        await asyncio.gather(*(run(g, items) for g, items in work.items()))

    async def _evaluate(self, h: BotHandle, c, candles, candle_ts: int) -> None:
        if h.kind == BotKind.HYPERRSI:
            await hyperrsi_runner.on_candle(h, c, candle_ts)
        elif h.strat is None:
            await self.start_grid(h, float(candles.close[-1]), c)
        else:
            await grid_runner.on_candle(h, c, candle_ts)
        if h.dirty:
            await self._sync(h)

    async def start_grid(self, h: BotHandle, price: float | None = None, c=None) -> None:
        """Plan the ladder at the last close. Caller holds the lock. PlanRefused propagates."""
        if price is None:
            candles = await self.market_data.closed_candles(h.source, h.symbol, h.timeframe,
                                                            inputs.warmup(h.settings))
            if len(candles) == 0:
                raise PlanRefused("no_price_yet")
            price = float(candles.close[-1])
            c = inputs.grid_inputs(h.settings, candles).at(-1)
        if c is not None:
            c = inputs.with_index(c, self.clock.now_ms() // h.tf_ms)
        await grid_runner.start(h, price, c, self.clock.now_ms())

    async def reconcile_all(self) -> Counter:
        total: Counter = Counter()
        for (account_id, symbol), hs in self.groups().items():
            gone: list[BotHandle] = []
            async with self.locks.hold(account_id, symbol):
                for h in hs:
                    try:
                        total.update(await reconcile(h))
                        await self._sync(h)
                    except Exception as e:
                        await self._error([h], e, "reconcile")
                try:
                    gone = await positions.vanished(hs, self.clock.now_ms())
                except Exception as e:
                    await self._error(hs, e, "reconcile")
            for h in gone:  # their position is gone at the exchange: their orders go too, and they stop
                await self.control.stop_bot(h.user_id, h.id, close_position=False)
        return total

    async def _error(self, hs: list[BotHandle], e: Exception, where: str) -> None:
        reason = e.reason if isinstance(e, ExchangeError) else type(e).__name__
        log.warning("%s failed for bots %s: %s", where, [h.id for h in hs], reason,
                    exc_info=not isinstance(e, ExchangeError))
        for h in hs:
            h.dirty = True
            if not isinstance(e, (ExchangeUnavailable, UnknownOutcome)):  # transient trouble is retried, not told
                await events.bot_error(h.user_id, h.id, h.symbol, reason, where, self.clock.now_ms())


def build_engine(*, vault: Any, redis_url: str | None = None, replay_dir: str | Path | None = None,
                 replay_speed: float = 60.0, grid_interval_s: float = 5.0) -> Engine:
    """What bot/app.py calls with values from AppConfig (REDIS_URL, MARKET_REPLAY_DIR, MARKET_REPLAY_SPEED).

    In bot/app.py, after `connect()` and before polling::

        engine = build_engine(vault=vault, redis_url=config.REDIS_URL, replay_dir=config.MARKET_REPLAY_DIR,
                              replay_speed=config.MARKET_REPLAY_SPEED)
        await engine.start()          # reconcile every active bot, then schedule the jobs
        dp["engine"] = engine         # handlers call engine.control.start_bot(...) etc.
        try:
            await dp.start_polling(bot)   # returns on SIGTERM/SIGINT
        finally:
            await engine.shutdown()       # no new jobs; the running ones finish
    """
    redis = None
    if redis_url:
        from redis.asyncio import from_url

        redis = from_url(redis_url)
    return Engine(vault=vault, redis=redis, replay_dir=replay_dir, replay_speed=replay_speed,
                  grid_interval_s=grid_interval_s)
