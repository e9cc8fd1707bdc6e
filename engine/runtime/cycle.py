"""One candle close of a timeframe: one fetch and one indicator computation per symbol, then every bot on it."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from db.enums import BotStatus
from engine import metrics
from engine.candles import timeframe_ms
from engine.exchange.protocol import ExchangeError
from engine.market.candle_cache import CandleCache
from engine.market.clock import Clock
from engine.runtime import asked_orders, events
from engine.runtime.bots import BotHandle, batched_decisions
from engine.runtime.locks import HeldLocks, SymbolLocks
from engine.runtime.orders import OPEN_STATES
from engine.runtime.registry import Registry
from engine.strategy_inputs import warmup

log = logging.getLogger(__name__)


class CandleCycle:
    def __init__(self, registry: Registry, candles: CandleCache, locks: SymbolLocks | HeldLocks, clock: Clock, *,
                 parallel: int = 16):
        self.registry, self.candles, self.locks, self.clock, self.parallel = registry, candles, locks, clock, parallel
        self.last_close: dict[str, int] = {}  # the last close (epoch ms) evaluated per timeframe

    async def close_reached(self, tf: str, now_ms: int) -> None:
        """The close of `tf` at or before `now_ms`, once."""
        close = now_ms - now_ms % timeframe_ms(tf)
        if close > self.last_close.get(tf, -1):
            self.last_close[tf] = close
            await self.on_close(tf, close)

    async def on_close(self, tf: str, close_ms: int) -> None:
        """One candle close of `tf`, timed for /metrics."""
        with metrics.CANDLE_CYCLE.labels(tf).time():
            await self._on_close(tf, close_ms)
        metrics.LAST_CLOSE.labels(tf).set(close_ms / 1000)

    async def _on_close(self, tf: str, close_ms: int) -> None:
        await self._evaluate(tf, close_ms - timeframe_ms(tf), self._markets(tf))

    async def close_market(self, source: str, symbol: str, tf: str, candle_ts: int) -> int:
        """One market's candle close (the job of engine/jobs): the candles of `symbol` from `source` fetched once,
        then every bot of the registry on that market evaluated. Returns how many bots it covered."""
        hs = self._markets(tf).get((source, symbol), [])
        if hs:
            await self._evaluate(tf, candle_ts, {(source, symbol): hs})
        return len(hs)

    def _markets(self, tf: str) -> dict[tuple[str, str], list[BotHandle]]:
        """The bots evaluated on a close of `tf`, by market (candle source, symbol)."""
        by_source: dict[tuple[str, str], list[BotHandle]] = defaultdict(list)
        for h in self.registry.handles.values():
            if h.timeframe == tf and h.status in (BotStatus.RUNNING, BotStatus.PAUSED):
                by_source[(h.source, h.symbol)].append(h)
        return by_source

    async def _evaluate(self, tf: str, candle_ts: int, by_source: dict[tuple[str, str], list[BotHandle]]) -> None:
        """Fetches run concurrently, and so do the markets (each with all its (account, symbol) locks held) and their
        (account, symbol) groups of bots, at most `parallel` groups at a time: with a real exchange each order is a
        network round trip."""
        warm: dict[tuple, int] = {}
        for hs in by_source.values():
            for h in hs:
                key = h.runner.params_key(h.settings)
                if key not in warm:
                    warm[key] = warmup(h.settings)
        sem = asyncio.Semaphore(self.parallel)

        async def fetch(source: str, symbol: str, n: int):
            async with sem:
                try:
                    return await self.candles.closed_candles(source, symbol, tf, n)
                except ExchangeError as e:  # the next close, or a coalesced rerun, catches up
                    log.warning("%s %s %s: candles unavailable (%s)", source, symbol, tf, e.reason)
                    return None

        keys = list(by_source)
        fetched = await asyncio.gather(*(fetch(src, sym, max(warm[h.runner.params_key(h.settings)]
                                                            for h in by_source[(src, sym)])) for src, sym in keys))
        work: dict[tuple[str, str], dict[tuple[int, str], list]] = defaultdict(lambda: defaultdict(list))
        for (source, symbol), candles in zip(keys, fetched, strict=True):
            if candles is None or len(candles) == 0 or int(candles.ts[-1]) != candle_ts:
                log.info("%s %s %s: candle %s not available", source, symbol, tf, candle_ts)
                continue
            close = float(candles.close[-1])
            series: dict[tuple, Any] = {}
            for h in by_source[(source, symbol)]:
                key = h.runner.params_key(h.settings)
                if key not in series:
                    series[key] = h.runner.inputs(h.settings, candles[-warm[key]:]).at(-1)
                work[(source, symbol)][(h.account_id, symbol)].append((h, series[key], close))

        async def run(items: list[tuple[BotHandle, Any, float]], asked: dict[int, asked_orders.Asked]) -> None:
            async with sem:
                for h, c, close in items:
                    try:
                        await h.runner.on_candle(h, c, close, candle_ts, self.clock.now_ms())
                        if h.dirty and h.id not in asked:  # a bot with an order asked: once it is sent
                            await h.resync()
                    except Exception as e:
                        await events.report([h], e, "candle", self.clock.now_ms())

        async def market(groups: dict[tuple[int, str], list]) -> None:
            # every (account, symbol) of the market held until the bots that only recorded their decision are
            # written, in one statement for all of them, and the market orders asked for are sent together
            async with self.locks.hold_all(groups), batched_decisions():
                with asked_orders.collecting() as asked:
                    await asyncio.gather(*(run(items, asked) for items in groups.values()))
                if asked:
                    await self._send_asked(list(asked.values()))

        await asyncio.gather(*(market(groups) for groups in work.values()))

    async def _send_asked(self, asked: list[asked_orders.Asked]) -> None:
        try:
            orders = await asked_orders.send(asked)
        except Exception as e:
            await events.report([a.h for a in asked], e, "candle", self.clock.now_ms())
            return
        for a, order in zip(asked, orders, strict=True):
            try:
                # a bot waiting for the market order it just sent, still out, places nothing before its fill (its
                # sync would ask the database just that): the next supervision syncs it
                if a.h.dirty and not (order.status in OPEN_STATES and a.h.runner.waiting(a.h)):
                    await a.h.resync()
            except Exception as e:
                await events.report([a.h], e, "candle", self.clock.now_ms())
