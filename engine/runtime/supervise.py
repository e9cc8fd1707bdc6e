"""Supervision, every few seconds: bots waiting for their exchange attached, fills taken in, resting orders repaired."""

from __future__ import annotations

import logging

from db.enums import BotStatus, OrderStatus
from db.models import Order, StrategyBot
from engine.market.clock import Clock
from engine.runtime import events, fills
from engine.runtime.bots import BotHandle
from engine.runtime.locks import HeldLocks, SymbolLocks
from engine.runtime.registry import ACTIVE, Registry
from engine.runtime.stopping import finish_stopping
from engine.runtime.sync import known_open_rows, still_open

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(self, registry: Registry, locks: SymbolLocks | HeldLocks, clock: Clock):
        self.registry, self.locks, self.clock = registry, locks, clock

    async def supervise(self) -> int:
        """Fills of every bot (one trades request per account and symbol), then repairs; returns the fills. Where the
        caller holds every lock of the pass (a worker's market job: `HeldLocks`), the bots to re-sync are synced
        after all the fills are in, their open orders read in one query (`sync.known_open_rows`), not one each."""
        await self._retry_unattached()
        total = 0
        later: list[BotHandle] = []
        for (account_id, symbol), hs in self.registry.groups().items():
            async with self.locks.hold(account_id, symbol):
                try:
                    total += await fills.poll(hs)
                except Exception as e:
                    await events.report(hs, e, "supervise", self.clock.now_ms())
                    continue
                for h in hs:
                    try:
                        await h.runner.check_pending(h)
                        if h.status == BotStatus.STOPPING:
                            await finish_stopping(self.registry, h, self.clock.now_ms())
                        elif h.dirty and self._held(h):
                            later.append(h)
                        elif h.dirty:
                            await h.resync()
                    except Exception as e:
                        await events.report([h], e, "supervise", self.clock.now_ms())
        if later:
            async with known_open_rows([h.id for h in later]) as known:
                await self._adopt_orphans(later, known)
                for h in later:
                    try:
                        await h.resync()
                    except Exception as e:
                        await events.report([h], e, "supervise", self.clock.now_ms())
        return total

    async def _adopt_orphans(self, hs: list[BotHandle], known: dict[int, list[Order]]) -> None:
        """Rows still PENDING under locks held for the whole pass were left by a process that died between writing
        them and writing the outcome (a killed worker's job): each is looked up by client id now, so its key does not
        wait for the periodic reconciliation (a stop-loss left unreplaced meanwhile). Not found: on a paper venue
        (the store is the truth, and a client id it holds is refused) sent now, as it would have been; elsewhere
        left to the grace. `known`: the bots' orders not final, read once for this and their syncs."""
        by_id = {h.id: h for h in hs}
        pending = sorted((r for rows in known.values() for r in rows if r.status == OrderStatus.PENDING),
                         key=lambda r: r.id)
        for row in pending:
            h = by_id[row.bot_id]
            try:
                await h.life.resolve_unknown(row, self.clock.now_ms(), send_again=h.exchange.simulated)
            except Exception as e:
                await events.report([h], e, "supervise", self.clock.now_ms())
        if pending:
            still_open(known)

    def _held(self, h: BotHandle) -> bool:
        return isinstance(self.locks, HeldLocks) and self.locks.holds(h.account_id, h.symbol)

    async def _retry_unattached(self) -> None:
        for bot_id in list(self.registry.unattached):
            row = await StrategyBot.get_or_none(id=bot_id, status__in=list(ACTIVE))
            if row is None:
                self.registry.unattached.discard(bot_id)
                continue
            try:
                h = await self.registry.attach(row)
                h.dirty = True
            except Exception:
                log.info("bot %s: still cannot attach", bot_id)
