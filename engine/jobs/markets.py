"""What a worker's jobs do: the bots of one market (or, for reconciliation, all) loaded from the database (the truth,
whichever worker ran the last job), then a candle close, a supervision or a reconciliation as the one-process engine
does it (the runtime's CandleCycle, Supervisor and Reconciler)."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, Subquery

from db.enums import BotStatus, MarketType
from db.models import ExchangeAccount, Order, Position, StrategyBot
from engine.candles import timeframe_ms
from engine.exchange.paper_batch import catch_up_together
from engine.exchange.paper_store import PaperStore
from engine.exchange.protocol import Exchange
from engine.jobs.market_reads import BotRow, PositionRow, market_keys, market_rows, timeframe_of
from engine.market.candle_cache import CandleCache
from engine.market.clock import Clock
from engine.runtime.bots import BotHandle, book_of
from engine.runtime.cycle import CandleCycle
from engine.runtime.locks import HeldLocks, SymbolLocks
from engine.runtime.orders import OPEN_STATES
from engine.runtime.paper_feed import PaperFeeder
from engine.runtime.reconcile import Reconciler, active_rows
from engine.runtime.registry import ACTIVE, ExchangeFactory, Registry, venue_bytes
from engine.runtime.schedule import CLOSE_DELAY_S
from engine.runtime.state import RuntimeState
from engine.runtime.supervise import Supervisor

log = logging.getLogger(__name__)
_JOB_NOW: ContextVar[int | None] = ContextVar("job_now", default=None)

# the memory a worker's kept paper venues and handles may take, by their estimate: a venue holds its open orders
# and 100 recent orders and trades (~0.25 MB at most, bench/paper_load.py) but a flat account's holds a few kB, so a
# budget rather than a count keeps every venue of 100,000 bots' 10,000 accounts where 2,000 heavy ones would fill it
KEEP_BYTES = 256 * 2**20
# a kept bot handle's (its strategy state, settings, order lifecycle): 100,000 bots on 2 workers, each keeping its
# 10,000 venues and about 50,000 handles, grew each worker's peak RSS by about 400 MB (bench/README.md)
HANDLE_BYTES = 5_000
Market = tuple[str, str, str]  # (venue, symbol, timeframe); venue = "<account exchange>:<market type>"


class JobClock:
    """The job's time when it set one (replayed markets: its candle's close), else the base clock's. A context
    variable, so concurrent jobs of one worker each see their own."""

    def __init__(self, base: Clock):
        self.base = base

    def now_ms(self) -> int:
        now = _JOB_NOW.get()
        return self.base.now_ms() if now is None else now


async def active_markets() -> set[Market]:
    """Every market with an active bot: one candle-close job each per close of its timeframe."""
    return _markets(await StrategyBot.filter(status__in=list(ACTIVE)).values(*_MARKET_FIELDS))


async def markets_in_flight() -> set[Market]:
    """The markets that need supervising between their closes: those with a bot that has an order not final (its
    fills, or its outcome, to take in) or a stop to finish. A bot with nothing out waits for its close job, which
    supervises its market first; a job cut short is delivered again, so a decided order is not forgotten."""
    open_orders = Order.filter(status__in=list(OPEN_STATES)).values("bot_id")
    rows = await StrategyBot.filter(Q(status=BotStatus.STOPPING) | Q(id__in=Subquery(open_orders)),
                                    status__in=list(ACTIVE)).values(*_MARKET_FIELDS)
    return _markets(rows)


_MARKET_FIELDS = ("kind", "symbol", "settings", "account__exchange", "account__market_type")


def _markets(rows: list[dict]) -> set[Market]:
    return {(f"{r['account__exchange']}:{MarketType(r['account__market_type']).value}", r["symbol"],
             timeframe_of(r["kind"], r["settings"])) for r in rows}


@dataclass(slots=True)
class _Kept:
    """A bot's handle as a market job of this worker left it, with the settings it was made from."""

    settings: dict
    handle: BotHandle

    def still(self, row: StrategyBot | BotRow, position: Position | PositionRow | None,
              exchange: Exchange | None) -> bool:
        """True when attaching `row` afresh would make the same handle: nothing stored changed since this worker
        wrote or read it (its status, settings, state and books), its memory is no further than its row, and its
        exchange is the one this worker holds for the account."""
        h = self.handle
        return (self._same_but_state_and_books(row, position, exchange)
                and row.state == h.last_state == h.state_json() and book_of(position) == h.book)

    def renew(self, row: StrategyBot | BotRow, position: Position | PositionRow | None,
              exchange: Exchange | None) -> bool:
        """Where only what a job writes moved since (another worker ran the market: the bot's state and books), the
        handle takes them as stored, as attaching the bot afresh would take them, and True; False where more moved
        (its status, settings or exchange, or its position row): it is attached afresh."""
        if not self._same_but_state_and_books(row, position, exchange):
            return False
        h = self.handle
        raw = row.state.get("strategy")
        h.rt = RuntimeState.from_json(row.state)
        if h.encoded is None or h.encoded[0] is not h.strat or h.encoded[1] != raw:
            h.strategy = h.runner.make(h.settings, h.market, h.runner.decode(raw))
        h.book = book_of(position)
        h.last_state = h.state_json()
        h.life.refused.clear()  # its refusals in a row as this worker last saw them: the other's job came after
        return True

    def _same_but_state_and_books(self, row: StrategyBot | BotRow, position: Position | PositionRow | None,
                                  exchange: Exchange | None) -> bool:
        """The row has a state, and its status, settings, exchange and position row are the kept handle's."""
        h = self.handle
        return (row.state is not None and row.status == h.status and row.settings == self.settings
                and exchange is h.exchange and position is not None and position.id == h.position_id)


class FreshMarkets:
    """A worker's market jobs. Each job reads its market's bots from the database under their locks, so it sees
    what the last job on any worker committed: a bot unchanged since this worker's last job on the market keeps the
    handle that job left, any other is attached afresh. Exchanges are kept across jobs: real venues' gateways (the
    venue holds the truth) and paper venues up to `keep_bytes` of memory, each checked against its stored version
    when a job takes it up (read again only when another process wrote it since; a write over a newer version is
    refused and made again)."""

    def __init__(self, candles: CandleCache, clock: JobClock, locks: SymbolLocks, *, vault: Any = None,
                 replay: Any = None, urls_override: str | dict | None = None, parallel: int = 16,
                 factory: ExchangeFactory | None = None, keep_bytes: int = KEEP_BYTES):
        self.candles, self.clock, self.locks, self.vault, self.replay = candles, clock, locks, vault, replay
        self.urls_override, self.parallel, self.keep_bytes = urls_override, parallel, keep_bytes
        self.public_sources: dict = {}
        self.exchanges: dict[int, Exchange] = {}  # by account, the least recently used paper venue first
        self.factory = factory  # an exchange per account other than the venue's own (tests: a fake venue)
        self._busy: Counter[int] = Counter()  # accounts of the running jobs: their venues are never dropped
        self._kept: dict[Market, dict[int, _Kept]] = {}  # the handles each market's last job left
        self._kept_markets: dict[int, set[Market]] = {}  # by account: the markets where it has kept handles
        # by account: its kept paper venue's `venue_bytes` and its kept handles' HANDLE_BYTES when its last job ended
        self._weights: dict[int, int] = {}
        self.kept_bytes = 0  # their sum
        self.jobs = self.supervised = self.reconciled = 0
        # bots attached afresh by a job, taken as a job of this worker left them, and taken with what another
        # worker's job wrote since
        self.attached = self.adopted = self.renewed = 0

    async def close(self, venue: str, symbol: str, tf: str, candle_ts: int) -> dict[str, int]:
        """Fills taken in and the candle of `candle_ts` (open time) evaluated for every bot of the market."""
        now = candle_ts + timeframe_ms(tf) + CLOSE_DELAY_S * 1000
        async with self._market(venue, symbol, tf, now) as (registry, failed, held):
            await registry.feeder.feed(registry.groups(), self.clock.now_ms())
            fills = await Supervisor(registry, held, self.clock).supervise()
            cycle = CandleCycle(registry, self.candles, held, self.clock, parallel=self.parallel)
            bots = 0
            for source in sorted({h.source for h in registry.handles.values()}):
                bots += await cycle.close_market(source, symbol, tf, candle_ts)
            self.jobs += 1
            return {"bots": bots, "fills": fills, "failed": failed, "again": await _waiting(registry)}

    async def supervise(self, venue: str, symbol: str, tf: str, now_ms: int) -> dict[str, int]:
        """What the one-process engine does every few seconds, for one market: fills taken in (a GRID's counter
        order placed), pending orders and stops finished, resting orders repaired. Paper venues are fed the 1m
        candles closed by now first, as the one-process engine feeds them every minute (a minute fed once writes
        once; the venue never matches a minute twice)."""
        async with self._market(venue, symbol, tf, now_ms) as (registry, failed, held):
            await registry.feeder.feed(registry.groups(), self.clock.now_ms())
            fills = await Supervisor(registry, held, self.clock).supervise()
            self.supervised += 1
            return {"bots": len(registry.handles), "fills": fills, "failed": failed, "again": await _waiting(registry)}

    @contextlib.asynccontextmanager
    async def _market(self, venue: str, symbol: str, tf: str, now_ms: int) -> AsyncIterator[tuple[Registry, int,
                                                                                                   HeldLocks]]:
        """A market job's bots, attached while the job holds every (account, symbol) lock of the market (one lock
        round trip): read under the locks, so that a chat's change committed before is seen and one made now waits
        for the job, and the job's writes can be batched. A bot started between the two reads waits for the next
        job (its key is not held)."""
        keys = await market_keys(venue, symbol, tf)
        async with self.locks.hold_all(keys) as held:
            rows = [r for r in await market_rows(venue, symbol, tf) if (r.account_id, r.symbol) in keys]
            positions = {r.id: r.position for r in rows if r.position is not None}  # read with the rows
            versions = (None if any(r.venue_version is None for r in rows)  # read with the rows on PostgreSQL
                        else {r.account_id: r.venue_version for r in rows})
            async with self._attached(rows, now_ms, (venue, symbol, tf), positions, versions) as (registry, failed):
                yield registry, failed, held

    def kept(self, bot_id: int) -> BotHandle | None:
        """The handle a market job of this worker left for the bot (None: its next job attaches it afresh)."""
        return next((k[bot_id].handle for k in self._kept.values() if bot_id in k), None)

    async def reconcile(self, now_ms: int) -> dict[str, int]:
        """The Reconciler's periodic check of every active bot with its exchange (one job for all markets), its
        paper venues fed the 1m candles closed by now first; then the kept handles of bots no longer active are let
        go, and the exchanges of accounts left without an active bot are closed and dropped (a deleted account's
        gateway holds its decrypted key)."""
        rows = await _listed(active_rows())
        async with self._attached(rows, now_ms) as (registry, failed):
            # the orders it repairs are placed at now's price and time, as a market job's are after its feed
            await registry.feeder.feed(registry.groups(), self.clock.now_ms())
            counts = await Reconciler(registry, self.locks, self.clock, parallel=self.parallel).reconcile_all()
            self.reconciled += 1
        active, bots = {r.account_id for r in rows}, {r.id for r in rows}
        for market, kept in list(self._kept.items()):  # bots stopped since: their markets may have no job again
            for bot_id in [b for b in kept if b not in bots]:
                del kept[bot_id]
            if not kept:
                del self._kept[market]
        for account_id in [a for a in self.exchanges if a not in active and self._busy[a] <= 0]:
            self._forget_kept(account_id)
            self.kept_bytes -= self._weights.pop(account_id, 0)
            await self.exchanges.pop(account_id).close()
        return {"bots": len(registry.handles), "failed": failed, **counts}

    @contextlib.asynccontextmanager
    async def _attached(self, rows: list[StrategyBot] | list[BotRow], now_ms: int, market: Market | None = None,
                        positions: dict[int, Position | PositionRow] | None = None,
                        versions: dict[int, int] | None = None) -> AsyncIterator[tuple[Registry, int]]:
        """A fresh registry with `rows` attached, at `now_ms` if the market is replayed (else the real time). Its
        exchanges are this worker's, shared with the jobs running beside it (one copy of an account's paper venue
        per process, its calls one at a time) and kept for the next jobs. A market job (holding the market's
        locks) takes the handles its market's last job left where their bots are unchanged, and leaves its own for
        the next, unless it fails. `versions`: the stored versions of the rows' paper venues by account, read with
        the rows (None: read here). The caller feeds the paper venues right after (`Registry.primes` False)."""
        token = _JOB_NOW.set(now_ms if self.replay is not None else None)
        registry = Registry(self.candles, self.clock, PaperFeeder(self.candles), vault=self.vault,
                            replay=self.replay, factory=self.factory, urls_override=self.urls_override,
                            exchanges=self.exchanges, public_sources=self.public_sources, primes=False)
        ids: set[int] = set()
        kept = self._kept.pop(market, {}) if market is not None else {}
        try:
            failed = 0
            ids = {r.account_id for r in rows}
            self._busy.update(ids)
            paper = {a: ex.paper_venue._version for a in ids if (ex := self.exchanges.get(a)) is not None
                     and ex.simulated}
            # another worker, or the chat's process, may have stored these venues since this worker last used them:
            # the stored versions read with the rows (`versions`) leave only the venues that moved to read again
            moved = paper if versions is None else {a: v for a, v in paper.items() if versions.get(a, 0) != v}
            for account_id, (version, doc) in (await PaperStore.documents(moved) if moved else {}).items():
                await self.exchanges[account_id].recheck(version, doc)
            await catch_up_together([self.exchanges[a].paper_venue for a in paper])
            if positions is None and rows:  # read here unless the caller read them with the rows
                positions = {p.bot_id: p for p in await Position.filter(bot_id__in=[r.id for r in rows])}
            positions = positions or {}
            fresh = []
            for row in rows:
                k = kept.get(row.id)
                position, exchange = positions.get(row.id), self.exchanges.get(row.account_id)
                if k is None:
                    fresh.append(row)
                elif k.still(row, position, exchange):
                    await registry.adopt(k.handle)
                    self.adopted += 1
                elif k.renew(row, position, exchange):
                    await registry.adopt(k.handle)
                    self.renewed += 1
                else:
                    fresh.append(row)
            need = {r.account_id for r in fresh}
            accounts = {a.id: a for a in await ExchangeAccount.filter(id__in=need)} if need else {}
            for row in fresh:
                try:  # a running bot's venue has its leverage (its start set it): not asked again every job
                    await registry.attach(row, account=accounts.get(row.account_id), position=positions.get(row.id),
                                          set_leverage=False)
                    self.attached += 1
                except Exception:  # its exchange is down: the next job tries again
                    log.exception("bot %s could not be attached", row.id)
                    failed += 1
            yield registry, failed
            if market is not None:
                settings = {r.id: r.settings for r in rows}
                self._kept[market] = {h.id: _Kept(settings[h.id], h) for h in registry.handles.values()
                                      if h.id in settings}
                for h in registry.handles.values():
                    self._kept_markets.setdefault(h.account_id, set()).add(market)
        finally:
            _JOB_NOW.reset(token)
            self._busy.subtract(ids)
            for account_id in ids:
                if (ex := self.exchanges.pop(account_id, None)) is not None:
                    self.exchanges[account_id] = ex  # the most recently used last
                    if ex.simulated:
                        weight = venue_bytes(ex) + HANDLE_BYTES * len(self._kept_markets.get(account_id, ()))
                        self.kept_bytes += weight - self._weights.get(account_id, 0)
                        self._weights[account_id] = weight
            await self._drop_venues()

    async def _drop_venues(self) -> None:
        """The least recently used paper venues that no running job holds, closed until the kept ones fit in
        `keep_bytes` (the walk stops there: a job costs the venues it drops, not all the worker keeps)."""
        over, dropped = self.kept_bytes - self.keep_bytes, []
        for account_id, ex in self.exchanges.items():
            if over <= 0:
                break
            if ex.simulated and self._busy[account_id] <= 0:
                dropped.append((account_id, ex))
                over -= self._weights.get(account_id, 0)
        for account_id, ex in dropped:
            del self.exchanges[account_id]
            self._forget_kept(account_id)
            self.kept_bytes -= self._weights.pop(account_id, 0)
            await ex.close()

    def _forget_kept(self, account_id: int) -> None:
        """The kept handles of an account whose exchange this worker drops (they hold it)."""
        for market in self._kept_markets.pop(account_id, ()):
            kept = self._kept.get(market, {})
            for bot_id in [b for b, k in kept.items() if k.handle.account_id == account_id]:
                del kept[bot_id]


async def _waiting(registry: Registry) -> int:
    """1 when a bot of the job waits for a market order's fill that no open order stands for (a real venue filled
    it at once and its fill is not taken in yet): the scheduler sees nothing in flight there, so the market is
    supervised again soon. An order still open keeps its market supervised by the scheduler anyway."""
    waiting = [h.id for h in registry.handles.values() if h.runner.waiting(h)]
    if not waiting:
        return 0
    covered = set(await Order.filter(bot_id__in=waiting, status__in=list(OPEN_STATES)).values_list("bot_id",
                                                                                                   flat=True))
    return int(any(b not in covered for b in waiting))


async def _listed(rows: AsyncIterator[StrategyBot]) -> list[StrategyBot]:
    return [row async for row in rows]
