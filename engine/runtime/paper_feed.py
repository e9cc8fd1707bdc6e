"""Simulated (paper) exchanges fed the 1m candles closed since they last saw one, so they match their orders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.exchange.protocol import ExchangeError
from engine.market.candle_cache import CandleCache
from engine.runtime.bots import BotHandle

log = logging.getLogger(__name__)


class PaperFeeder:
    """Remembers, per (account, symbol), the open time of the last candle fed."""

    def __init__(self, candles: CandleCache):
        self.candles = candles
        self._fed: dict[tuple[int, str], int] = {}
        self._lock = asyncio.Lock()

    def forget(self, account_id: int, symbol: str) -> None:
        self._fed.pop((account_id, symbol), None)

    async def prime(self, h: BotHandle, *, now_ms: int | None = None) -> None:
        """A simulated exchange that has no price for the symbol yet learns it from the last closed 1m candle
        before any order is placed, so nothing placed now is matched against a candle that closed before it. With
        `now_ms` (a process whose own jobs do not feed the venue every minute: the chat's, beside workers) it is
        fed every 1m candle closed by then that it has not seen, so the bot's orders are placed at now's price."""
        if not h.exchange.simulated:
            return
        if now_ms is not None:
            await self.feed({(h.account_id, h.symbol): [h]}, now_ms)
            return
        try:
            await h.exchange.fetch_ticker(h.symbol)
            return
        except ExchangeError:
            pass
        candles = await self.candles.closed_candles(h.source, h.symbol, "1m", 1)
        if len(candles):
            await h.exchange.feed(h.symbol, candles.rows()[-1])
            self._fed[(h.account_id, h.symbol)] = int(candles.ts[-1])

    async def feed(self, groups: Mapping[tuple[int, str], list[BotHandle]], now_ms: int) -> int:
        """Every 1m candle closed by `now_ms` that each simulated (account, symbol) has not seen; returns how many.
        A symbol's candles are asked for once, as deep as its longest-unfed account needs (each account takes those
        after its last). Paper venues are fed together (their `feed_many`: the ones where nothing matched in one
        write)."""
        fed = 0
        together: list[tuple[Any, str, list[list]]] = []
        after: dict[tuple[int, str], tuple[Any, int]] = {}  # a paper venue's (account, symbol): venue, last row
        async with self._lock:
            wanted: list[tuple] = []  # (account, exchange, the last candle it was fed, (source, symbol))
            depth: dict[tuple[str, str], int] = {}  # candles to ask for, by (source, symbol)
            for (account_id, symbol), hs in groups.items():
                ex = hs[0].exchange
                if not ex.simulated:
                    continue
                last = self._fed.get((account_id, symbol))
                if last is None:
                    try:
                        last = (await ex.fetch_ticker(symbol)).ts
                    except ExchangeError:
                        last = None
                n = 1 if last is None else int(min(max((now_ms - last) // 60_000, 1), 1440))
                key = (hs[0].source, symbol)
                depth[key] = max(depth.get(key, 0), n)
                wanted.append((account_id, ex, last, key))
            rows_of = {key: _exact((await self.candles.closed_candles(*key, "1m", n)).rows())
                       for key, n in depth.items()}
            for account_id, ex, last, key in wanted:
                symbol = key[1]
                rows = rows_of[key][-1:] if last is None else [row for row in rows_of[key] if row[0] > last]
                venue = getattr(ex, "paper_venue", None)
                if venue is not None:
                    if rows:
                        together.append((venue, symbol, rows))
                        after[(account_id, symbol)] = (venue, int(rows[-1][0]))
                    elif last is not None:
                        self._fed[(account_id, symbol)] = int(last)
                    continue
                try:
                    for row in rows:
                        await ex.feed(symbol, row)
                        last = row[0]
                        fed += 1
                except ExchangeError as e:  # this account catches up on the next feed; the others go on now
                    log.warning("paper account %s %s: candle not fed (%s)", account_id, symbol, e.reason)
                if last is not None:
                    self._fed[(account_id, symbol)] = int(last)
            refused = await together[0][0].feed_many(together) if together else {}
            for (account_id, symbol), (venue, last_row) in after.items():
                if id(venue) in refused:
                    log.warning("paper account %s %s: candle not fed (%s)", account_id, symbol,
                                refused[id(venue)].reason)
                else:
                    self._fed[(account_id, symbol)] = last_row
            fed += sum(len(rows) for venue, _, rows in together if id(venue) not in refused)
        return fed


def _exact(rows: list[list[float]]) -> list[list]:
    """Candle rows with their prices as the Decimals a paper venue matches on, converted once for every account fed
    them (a symbol's minute reaches each of its accounts' venues)."""
    return [[row[0], *(Decimal(str(v)) for v in row[1:5]), *row[5:]] for row in rows]
