"""The running bots and the exchanges of their accounts: attached when a bot starts, dropped when it or its account
goes (nothing outlives its bot or account)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
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


def runner_for(kind: BotKind) -> LiveRunner:
    return RUNNERS[BotKind(kind)]


class PaperOnly(Exception):
    """A process that trades paper accounts only (the sandbox) was asked for an account with a key."""


class Registry:
    """Bots by id (`handles`), exchanges by account id (`exchanges`), and the bots waiting for their exchange."""

    def __init__(self, candles: CandleCache, clock: Clock, feeder: PaperFeeder, *, vault: Any = None,
                 replay: Any = None, factory: ExchangeFactory | None = None, urls_override: str | dict | None = None,
                 unknown_grace_ms: int = 60_000, paper_only: bool = False, runs_bots: bool = True):
        self.candles, self.clock, self.feeder = candles, clock, feeder
        # False where other processes run the bots (workers): a handle or paper venue kept here would go stale
        self.runs_bots = runs_bots
        self.paper_only = paper_only  # the sandbox: an account with a key is never given an exchange
        self.vault, self.replay, self._factory, self.urls_override = vault, replay, factory, urls_override
        self.unknown_grace_ms = unknown_grace_ms
        self.exchanges: dict[int, Exchange] = {}
        self.public_sources: dict = {}  # keyless data gateways shared by the paper accounts, by (venue, market type)
        self.handles: dict[int, BotHandle] = {}
        self.unattached: set[int] = set()  # active bots whose attach failed (exchange down): retried

    async def exchange_for(self, account: ExchangeAccount) -> Exchange:
        """The account's exchange, made once; where other processes run the bots, a paper venue kept here is read
        again first if one of them stored it since (one small query)."""
        ex = self.exchanges.get(account.id)
        if ex is None:
            ex = self.exchanges[account.id] = await self._make_exchange(account)
        elif not self.runs_bots and ex.simulated:
            await ex.paper_venue.refresh()
        return ex

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
        ex = await self.exchange_for(account)
        h = await make_handle(row, ex, self._source_for(account, ex), runner_for(row.kind),
                              unknown_grace_ms=self.unknown_grace_ms, clock=self.clock.now_ms, position=position)
        if h.swap and set_leverage:
            try:
                await ex.set_leverage(h.symbol, h.settings.leverage)
            except ExchangeError as e:  # e.g. a position is open: keep the exchange's leverage
                log.info("bot %s: leverage not set (%s)", h.id, e.reason)
        await self.feeder.prime(h, now_ms=None if self.runs_bots else self.clock.now_ms())
        self.handles[h.id] = h
        self.unattached.discard(h.id)
        return h

    async def current(self, row: StrategyBot) -> BotHandle:
        """The bot's handle for an action its caller takes under the bot's lock: the registered one where this
        process runs its bots (its cycles keep it current); where other processes do, attached afresh from `row`,
        which the caller read under the lock, then let go after the action (`release`)."""
        if self.runs_bots:
            return self.handles.get(row.id) or await self.attach(row)
        return await self.attach(row, set_leverage=False)  # its start set it (a change of it sets it itself)

    def release(self, h: BotHandle) -> None:
        """After an action where other processes run the bots: its handle let go, so that none goes stale here."""
        if not self.runs_bots:
            self.detach(h.id)

    async def adopt(self, h: BotHandle) -> None:
        """A handle made by an earlier job of this process and unchanged since (engine/jobs/markets.py checks it against
        the rows), registered as `attach` registers a new one; re-synced on the next supervision, as a new one is."""
        h.dirty = True
        await self.feeder.prime(h)
        self.handles[h.id] = h
        self.unattached.discard(h.id)

    def detach(self, bot_id: int) -> None:
        h = self.handles.pop(bot_id, None)
        self.unattached.discard(bot_id)
        if h is not None and not any(o.account_id == h.account_id and o.symbol == h.symbol
                                     for o in self.handles.values()):
            self.feeder.forget(h.account_id, h.symbol)

    async def forget_account(self, account_id: int) -> None:
        """A deleted account: its bots leave, and its exchange, which holds the decrypted key, is closed and dropped."""
        for bot_id in [h.id for h in self.handles.values() if h.account_id == account_id]:
            self.detach(bot_id)
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
