"""Candles fetched once per (source, symbol, timeframe) for every subscriber, cached, closed candles only."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import numpy as np

from engine.candles import Candles, timeframe_ms
from engine.market.clock import Clock

log = logging.getLogger(__name__)
PAGE = 300


class CandleCache:
    """Shared candle cache. Concurrent callers for one key wait for one fetch; later calls fetch only what is new.
    With `shared` (engine/market/candle_share.py: workers' candles in Redis) a key this process lacks, or holds older
    candles of, is read there before the venue is asked for what is still missing, and what was fetched goes back."""

    def __init__(self, sources: dict[str, Any], clock: Clock, *, keep: int = 5000, shared: Any = None):
        self.sources, self.clock, self.keep, self.shared = sources, clock, keep, shared
        self._cache: dict[tuple[str, str, str], Candles] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._depth: dict[tuple[str, str, str], int] = {}  # the most candles asked for per key
        # per key, the open time from which the cached candles are all the venue has (before the first of them when
        # the venue's history is shorter than asked): what a shared chunk says it holds
        self._held: dict[tuple[str, str, str], int] = {}
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.gaps: Counter[tuple[str, str, str]] = Counter()

    async def closed_candles(self, source: str, symbol: str, timeframe: str, n: int) -> Candles:
        """The last `n` candles closed at the clock's time (fewer if history is short). Gaps are kept as gaps."""
        key = (source, symbol, timeframe)
        step = timeframe_ms(timeframe)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            now = self.clock.now_ms()
            newest_closed = now - now % step - step  # open time of the last candle closed by now
            have = self._cache.get(key)
            if n > self._depth.get(key, 0):  # deeper history than fetched so far: fetch it all once
                self._cache.pop(key, None)
                have = None
            if (have is None or len(have) == 0 or have.ts[-1] < newest_closed) and self.shared is not None:
                have = await self._from_shared(key, step, n, newest_closed, have)
            if have is None or len(have) == 0 or have.ts[-1] < newest_closed:
                since = await self._refresh(key, step, n, newest_closed)
                self._depth[key] = max(n, self._depth.get(key, 0))
                if self.shared is not None and since is not None:
                    await self.shared.put(key, step, self._cache[key], since, self._held[key])
            c = self._cache.get(key)
        if c is None:
            return Candles.from_rows([])
        end = np.searchsorted(c.ts, newest_closed, side="right")
        return c[max(0, end - n) : end]

    async def _from_shared(self, key, step: int, n: int, newest_closed: int, have: Candles | None) -> Candles | None:
        """This process's copy carried on with the shared candles after it (or, without one, the last `n` of them);
        `have` as it was when the shared copy lacks some of them."""
        first = int(have.ts[-1]) + step if have is not None and len(have) else newest_closed - (n - 1) * step
        got = await self.shared.get(key, step, first, newest_closed)
        if got is None or len(got) == 0:
            return have
        self._store(key, _joined(have, got), n, first if have is None or len(have) == 0 else self._held[key])
        self._depth[key] = max(n, self._depth.get(key, 0))
        return self._cache[key]

    async def _refresh(self, key, step: int, n: int, newest_closed: int) -> int | None:
        """Fetches what is new since the cached candles; returns the open time it fetched from (None: nothing new)."""
        source = self.sources[key[0]]
        have = self._cache.get(key)
        since = start = int(have.ts[-1]) + step if have is not None and len(have) else newest_closed - (n - 1) * step
        rows: list[list[float]] = []
        while since <= newest_closed:
            self.requests[key] += 1
            page = await source.fetch_ohlcv(key[1], key[2], since=since, limit=PAGE)
            page = [r for r in page if since <= r[0] <= newest_closed]  # never the still-forming candle
            if not page:
                since += PAGE * step  # a gap in the data, or nothing yet
                if since > newest_closed or len(rows) >= n:
                    break
                continue
            rows.extend(page)
            since = int(page[-1][0]) + step
        if not rows:
            return None
        new = Candles.from_rows(rows)
        merged = _joined(have, new)
        gaps = int((np.diff(merged.ts) > step).sum())
        if gaps > self.gaps[key]:
            log.info("%s %s %s: %d gaps in the candles", *key, gaps)
            self.gaps[key] = gaps
        self._store(key, merged, n, start if have is None or len(have) == 0 else self._held[key])
        return start

    def _store(self, key, merged: Candles, n: int, held: int) -> None:
        """Keep only as deep as anyone asked (capped): a key read for its last candle must not grow to `keep`."""
        depth = min(self.keep, max(n, self._depth.get(key, 0)))
        if len(merged) > depth:
            held = int(merged.ts[-depth])
        self._cache[key] = Candles(*(col[-depth:].copy() for col in (
            merged.ts, merged.open, merged.high, merged.low, merged.close, merged.volume)))
        self._held[key] = held


def _joined(have: Candles | None, new: Candles) -> Candles:
    """`new` (the candles after `have`'s last) appended to `have`."""
    if have is None or len(have) == 0:
        return new
    return Candles(*(np.concatenate([a, b]) for a, b in zip(
        (have.ts, have.open, have.high, have.low, have.close, have.volume),
        (new.ts, new.open, new.high, new.low, new.close, new.volume), strict=True)))
