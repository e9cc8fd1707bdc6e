"""The running bots and the exchanges of their accounts: attached when a bot starts, dropped when it or its account
goes (a live account's gateway, holding its decrypted key, once no bot of the account is attached)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from db.enums import BotKind, BotStatus
from db.models import ExchangeAccount, Position, StrategyBot
from engine.exchange.factory import make_exchange
from engine.exchange.protocol import Exchange, ExchangeError
from engine.exchange.units import BaseUnits
from engine.market.candle_cache import CandleCache
from engine.market.clock import Clock
from engine.runtime.bots import BotHandle, LiveRunner, make_handle
from engine.runtime.grid_runner import LiveGrid
from engine.runtime.hyperrsi_runner import LiveHyperRsi
from engine.runtime.paper_feed import PaperFeeder

log = logging.getLogger(__name__)

ACTIVE = (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPING)  # the statuses of bots the engine runs
ExchangeFactory = Callable[[ExchangeAccount], Exchange | Awaitable[Exchange]]
RUNNERS: dict[BotKind, LiveRunner] = {BotKind.HYPERRSI: LiveHyperRsi(), BotKind.GRID: LiveGrid()}
# a kept paper venue's memory, estimated as its own and each record's (an order, a trade, a symbol fed):
# tracemalloc measured 0.01 MB for a venue of 4 records, 0.11 MB for 100 and 0.27 MB for 250
# (bench/paper_load.py --trades N --open M)
VENUE_BYTES, RECORD_BYTES = 6_000, 1_100
# the paper venues the chat's process beside workers keeps between its actions and reads (each checked against the
# stored version before use): a flat account's weighs a few kB, so about 10,000 of them
CHAT_KEEP_BYTES = 64 * 2**20


def venue_bytes(ex: Exchange) -> int:
    """A kept paper venue's memory, estimated from the records it holds."""
    return VENUE_BYTES + RECORD_BYTES * ex.paper_venue.held()


def runner_for(kind: BotKind) -> LiveRunner:
    return RUNNERS[BotKind(kind)]


class PaperOnly(Exception):
    """A process that trades paper accounts only (the sandbox) was asked for an account with a key."""


class Registry:
    """Bots by id (`handles`), exchanges by account id (`exchanges`), and the bots waiting for their exchange."""

    def __init__(self, candles: CandleCache, clock: Clock, feeder: PaperFeeder, *, vault: Any = None,
                 replay: Any = None, factory: ExchangeFactory | None = None, urls_override: str | dict | None = None,
                 unknown_grace_ms: int = 60_000, paper_only: bool = False, runs_bots: bool = True,
                 exchanges: dict[int, Exchange] | None = None, public_sources: dict | None = None,
                 keep_bytes: int = CHAT_KEEP_BYTES, primes: bool = True):
        self.candles, self.clock, self.feeder = candles, clock, feeder
        # False where other processes run the bots (workers): a handle or paper venue kept here would go stale
        self.runs_bots = runs_bots
        self.paper_only = paper_only  # the sandbox: an account with a key is never given an exchange
        self.vault, self.replay, self._factory, self.urls_override = vault, replay, factory, urls_override
        self.unknown_grace_ms = unknown_grace_ms
        # given: a worker's, shared by its jobs, which keeps and closes them (engine/jobs/markets.py); else this
        # registry's own, a live one closed once no bot of its account is attached
        self.owns_exchanges = exchanges is None
        self.exchanges: dict[int, Exchange] = {} if exchanges is None else exchanges
        # keyless data gateways shared by the paper accounts, by (venue, market type)
        self.public_sources: dict = {} if public_sources is None else public_sources
        self.keep_bytes = keep_bytes  # where other processes run the bots: the paper venues kept here, in all
        # False: the caller feeds the paper venues right after attaching (a worker's job), so attach does not first
        # (`PaperFeeder.prime`: a venue without the symbol's price fed the last 1m candle, twice over)
        self.primes = primes
        self._weights: dict[int, int] = {}  # by account: its kept paper venue's `venue_bytes` when last used
        self._attaching: Counter[int] = Counter()  # accounts with a bot being attached
        self.handles: dict[int, BotHandle] = {}
        self.unattached: set[int] = set()  # active bots whose attach failed (exchange down): retried

    async def exchange_for(self, account: ExchangeAccount) -> Exchange:
        """The account's exchange, made once; where other processes run the bots, a paper venue kept here is read
        again first if one of them stored it since (one small query), and the least recently used of the others
        are dropped beyond `keep_bytes`."""
        ex = self.exchanges.get(account.id)
        if ex is None:
            ex = self.exchanges[account.id] = await self._make_exchange(account)
        elif not self.runs_bots and ex.simulated:
            await ex.paper_venue.refresh()
        if not self.runs_bots and self.owns_exchanges and ex.simulated:
            self.exchanges[account.id] = self.exchanges.pop(account.id)  # the most recently used last
            self._weights.pop(account.id, None)
            self._weights[account.id] = venue_bytes(ex)
            self._keep_within(but=account.id)
        return ex

    def _keep_within(self, but: int | None = None) -> None:
        """The least recently used paper venues that no attached bot holds (no action on them under way), other
        than `but`'s, dropped until the kept ones fit in `keep_bytes`. Nothing to close: their data source is
        shared, and a read still holding one finishes on it."""
        over = sum(self._weights.values()) - self.keep_bytes
        if over <= 0:
            return
        held = self._held()
        for account_id in [a for a in self._weights if a != but and a not in held]:
            if over <= 0:
                break
            over -= self._weights.pop(account_id)
            self.exchanges.pop(account_id, None)

    def _held(self) -> set[int]:
        """The accounts with a bot attached or being attached (an action under way, where other processes run the
        bots)."""
        return {h.account_id for h in self.handles.values()} | {a for a, n in self._attaching.items() if n > 0}

    async def _let_go(self, account_id: int) -> None:
        """After the last bot of the account left: a live account's gateway closed and dropped (no decrypted key
        stays in memory for nothing; the next attach opens one again); where other processes run the bots, its
        paper venue kept within `keep_bytes`."""
        ex = self.exchanges.get(account_id)
        if ex is None or not self.owns_exchanges or account_id in self._held():
            return
        if not ex.simulated:
            del self.exchanges[account_id]
            for key in [k for k, source in self.candles.sources.items() if source is ex]:  # another account's, if any
                other = next((h.exchange for h in self.handles.values() if h.source == key), None)
                if other is None:
                    del self.candles.sources[key]
                else:
                    self.candles.sources[key] = other
            await ex.close()
        elif not self.runs_bots:
            self._weights[account_id] = venue_bytes(ex)
            self._keep_within()

    async def _make_exchange(self, account: ExchangeAccount) -> Exchange:
        if self.paper_only and not account.is_paper:
            raise PaperOnly(f"account {account.id} trades with a key: this process trades paper accounts only")
        if self._factory is not None:
            made = self._factory(account)
            made = await made if asyncio.iscoroutine(made) else made
            return made if isinstance(made, BaseUnits) else BaseUnits(made)  # the engine speaks base units only
        return make_exchange(account, self.vault, replay_source=self.replay, urls_override=self.urls_override,
                             public_sources=self.public_sources)

    def _source_for(self, account: ExchangeAccount, ex: Exchange) -> str:
        if self.replay is not None and account.is_paper:
            return "replay"
        key = f"{ex.exchange_id}:{ex.market_type}"
        self.candles.sources.setdefault(key, ex)
        return key

    async def attach(self, row: StrategyBot, *, account: ExchangeAccount | None = None,
                     position: Position | None = None, set_leverage: bool = True) -> BotHandle:
        """The bot's handle, registered. `account` and `position`: its rows when the caller read them already (a
        job reads a market's in one query each); `set_leverage` False when the bot's venue already has it (a job
        attaching a running bot: its start set it, and a venue keeps it)."""
        account = account or await ExchangeAccount.get(id=row.account_id)
        self._attaching[row.account_id] += 1  # its exchange is not let go meanwhile
        try:
            ex = await self.exchange_for(account)
            h = await make_handle(row, ex, self._source_for(account, ex), runner_for(row.kind),
                                  unknown_grace_ms=self.unknown_grace_ms, clock=self.clock.now_ms, position=position)
            if h.swap and set_leverage:
                try:
                    await ex.set_leverage(h.symbol, h.settings.leverage)
                except ExchangeError as e:  # e.g. a position is open: keep the exchange's leverage
                    log.info("bot %s: leverage not set (%s)", h.id, e.reason)
            if self.primes:
                await self.feeder.prime(h, now_ms=None if self.runs_bots else self.clock.now_ms())
            self.handles[h.id] = h
            self.unattached.discard(h.id)
            return h
        finally:
            self._attaching[row.account_id] -= 1

    async def current(self, row: StrategyBot) -> BotHandle:
        """The bot's handle for an action its caller takes under the bot's lock: the registered one where this
        process runs its bots (its cycles keep it current); where other processes do, attached afresh from `row`,
        which the caller read under the lock, then let go after the action (`release`)."""
        if self.runs_bots:
            return self.handles.get(row.id) or await self.attach(row)
        try:
            return await self.attach(row, set_leverage=False)  # its start set it (a change of it sets it itself)
        except BaseException:
            await self._let_go(row.account_id)
            raise

    async def release(self, h: BotHandle) -> None:
        """After an action where other processes run the bots: its handle let go, so that none goes stale here."""
        if not self.runs_bots:
            await self.detach(h.id)

    async def adopt(self, h: BotHandle) -> None:
        """A handle made by an earlier job of this process and unchanged since (engine/jobs/markets.py checks it against
        the rows), registered as `attach` registers a new one; re-synced on the next supervision, as a new one is."""
        h.dirty = True
        if self.primes:
            await self.feeder.prime(h)
        self.handles[h.id] = h
        self.unattached.discard(h.id)

    async def detach(self, bot_id: int) -> None:
        h = self.handles.pop(bot_id, None)
        self.unattached.discard(bot_id)
        if h is None:
            return
        if not any(o.account_id == h.account_id and o.symbol == h.symbol for o in self.handles.values()):
            self.feeder.forget(h.account_id, h.symbol)
        await self._let_go(h.account_id)

    async def forget_account(self, account_id: int) -> None:
        """A deleted account: its bots leave, and its exchange, which holds the decrypted key, is closed and dropped."""
        for bot_id in [h.id for h in self.handles.values() if h.account_id == account_id]:
            await self.detach(bot_id)
        self._weights.pop(account_id, None)
        ex = self.exchanges.pop(account_id, None)
        if ex is not None:
            await ex.close()

    def groups(self) -> dict[tuple[int, str], list[BotHandle]]:
        """The bots by (account, symbol): what one lock, one trades request and one position cover."""
        out: dict[tuple[int, str], list[BotHandle]] = defaultdict(list)
        for h in self.handles.values():
            out[(h.account_id, h.symbol)].append(h)
        return out

    def timeframes(self) -> set[str]:
        return {h.timeframe for h in self.handles.values()}

    async def close(self) -> None:
        """Every exchange and public data source closed (shutdown)."""
        for ex in [*self.exchanges.values(), *self.public_sources.values()]:
            try:
                await ex.close()
            except Exception:
                log.exception("closing an exchange failed")
