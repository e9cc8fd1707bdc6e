"""Closed candles shared by worker processes through Redis: a market's job runs on any worker, and each worker's
CandleCache reads what another one fetched before asking the venue, so a close costs the venue one request per
market however many workers there are. Redis holds rebuildable data only: when it is down, the venue is asked.

Layout: a market's candles in chunks of CHUNK candle slots aligned on time, one key each, so a close rewrites only
the newest chunk. Each chunk says from when its writer held the venue's candles (a writer that fetched less history
holds a chunk only from the middle); a read uses the chunks only if each holds what the reader needs from it, and
asks the venue otherwise, so a missing, expired or shallower chunk costs requests, never a hole in the candles."""

from __future__ import annotations

import logging
import struct
from typing import Any

import numpy as np

from engine.candles import Candles

log = logging.getLogger(__name__)
CHUNK = 1024  # candle slots a key: 48 kB of rows
HELD = struct.Struct("<q")  # a chunk's header: the open time from which its writer held every candle of it
TTL_S = 2 * 86_400


class SharedCandles:
    """The chunks of each cache key (source, symbol, timeframe); `namespace` keeps deployments apart (a replayed
    market is not the venue's)."""

    def __init__(self, redis: Any, namespace: str = "tb", ttl_s: int = TTL_S):
        self.redis, self.namespace, self.ttl_s = redis, namespace, ttl_s
        self.failures = 0

    def _key(self, key: tuple[str, str, str], chunk: int) -> str:
        return f"{self.namespace}:candles:{':'.join(key)}:{chunk}"

    async def get(self, key: tuple[str, str, str], step: int, first: int, last: int) -> Candles | None:
        """The candles opened from `first` to `last` (epoch ms), or None when a chunk of that span is missing or
        holds less than that (or Redis cannot be read): then the venue is asked."""
        span = CHUNK * step
        chunks = range(first // span, last // span + 1)
        try:
            raws = await self.redis.mget([self._key(key, c) for c in chunks])
        except Exception as e:
            self._failed("read", e)
            return None
        parts = []
        for c, raw in zip(chunks, raws, strict=True):
            if not raw or HELD.unpack_from(raw)[0] > max(first, c * span):
                return None
            parts.append(raw[HELD.size:])
        rows = np.frombuffer(b"".join(parts), dtype="<f8").reshape(-1, 6)
        rows = rows[(rows[:, 0] >= first) & (rows[:, 0] <= last)]
        return Candles(rows[:, 0].astype(np.int64), *(np.ascontiguousarray(rows[:, i]) for i in range(1, 6)))

    async def put(self, key: tuple[str, str, str], step: int, candles: Candles, since: int, held: int) -> None:
        """The chunks of `candles` (this process's copy: every candle the venue has from `held` on) from the one of
        `since` (where it just fetched from) on; a chunk the venue has no candle in is stored empty."""
        span = CHUNK * step
        ts = candles.ts
        rows = np.column_stack([ts.astype("<f8"), candles.open, candles.high, candles.low, candles.close,
                                candles.volume]).astype("<f8", copy=False)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for c in range(since // span, int(ts[-1]) // span + 1):
                    lo, hi = np.searchsorted(ts, [c * span, (c + 1) * span])
                    header = HELD.pack(max(c * span, held))
                    pipe.set(self._key(key, c), header + rows[lo:hi].tobytes(), ex=self.ttl_s)
                await pipe.execute()
        except Exception as e:
            self._failed("write", e)

    def _failed(self, what: str, e: Exception) -> None:
        self.failures += 1
        if self.failures == 1 or self.failures % 1000 == 0:  # once, then now and then: Redis down is one problem
            log.warning("shared candles: cannot %s Redis (%s; %d times): the venue is asked instead", what,
                        type(e).__name__, self.failures)
