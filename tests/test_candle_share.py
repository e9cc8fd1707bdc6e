"""Workers' candle caches sharing closed candles through a real Redis: the venue is asked once per market and close
whichever worker runs the job, every worker gets exactly the venue's candles, and Redis down costs requests only."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import from_url

from engine.candles import load_csv
from engine.market.candle_cache import CandleCache
from engine.market.candle_share import SharedCandles
from engine.market.clock import ManualClock
from engine.market.replay import ReplaySource

REDIS_URL = "redis://127.0.0.1:6379/11"
MIN = 60_000
KEY = ("replay", "BTC/USDT", "1m")


@pytest.fixture
async def redis():
    r = from_url(REDIS_URL)
    yield r
    await r.aclose()


def _worker(shared_data, clock, shared) -> CandleCache:
    return CandleCache({"replay": ReplaySource(shared_data, clock)}, clock, keep=5000, shared=shared)


async def test_the_venue_is_asked_once_per_close_whichever_worker_runs_the_market(shared_data, redis):
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock = ManualClock(int(csv.ts[3000]) + MIN + 2000)
    ns = f"t{uuid.uuid4().hex[:8]}"
    workers = [_worker(shared_data, clock, SharedCandles(redis, ns)) for _ in range(3)]
    first = await workers[0].closed_candles(*KEY, 2500)  # cold: 9 pages of 300
    assert first.rows() == csv[501:3001].rows() and workers[0].requests[KEY] == 9
    for k in range(1, 40):  # each close's job lands on another worker: one request each, the venue's candles
        clock.advance(MIN)
        w = workers[k % 3]
        before = sum(x.requests[KEY] for x in workers)
        got = await w.closed_candles(*KEY, 2500)
        assert got.rows() == csv[501 + k:3001 + k].rows(), k
        assert sum(x.requests[KEY] for x in workers) == before + 1, k
    alone = CandleCache({"replay": ReplaySource(shared_data, clock)}, clock, keep=5000)
    assert (await alone.closed_candles(*KEY, 2500)).rows() == got.rows()


async def test_a_missing_chunk_is_fetched_from_the_venue_not_guessed(shared_data, redis):
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock = ManualClock(int(csv.ts[4000]) + MIN + 2000)
    ns = f"t{uuid.uuid4().hex[:8]}"
    a, b = (_worker(shared_data, clock, SharedCandles(redis, ns)) for _ in range(2))
    await a.closed_candles(*KEY, 3000)
    keys = sorted(await redis.keys(f"{ns}:candles:*"), key=lambda k: int(k.rsplit(b":", 1)[1]))
    assert len(keys) >= 3
    await redis.delete(keys[1])  # a chunk in the middle gone (expired, evicted)
    got = await b.closed_candles(*KEY, 3000)
    assert got.rows() == csv[1001:4001].rows() and b.requests[KEY] == 10  # all of it from the venue


async def test_a_shallow_writer_never_leaves_a_hole_for_a_deep_reader(shared_data, redis):
    """A worker that fetched only 100 candles writes no chunk it holds from the middle: a worker that needs 2,500
    either finds every chunk whole or asks the venue."""
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock = ManualClock(int(csv.ts[5000]) + MIN + 2000)
    ns = f"t{uuid.uuid4().hex[:8]}"
    deep, shallow, reader = (_worker(shared_data, clock, SharedCandles(redis, ns)) for _ in range(3))
    await deep.closed_candles(*KEY, 2500)
    clock.advance(3 * MIN)
    await shallow.closed_candles(*KEY, 100)  # cold and shallow: its first chunk starts mid-way
    got = await reader.closed_candles(*KEY, 2500)
    assert got.rows() == csv[2504:5004].rows()


async def test_redis_down_costs_requests_not_candles(shared_data):
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock = ManualClock(int(csv.ts[3000]) + MIN + 2000)
    down = from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    shared = SharedCandles(down, "down")
    w = _worker(shared_data, clock, shared)
    assert (await w.closed_candles(*KEY, 500)).rows() == csv[2501:3001].rows()
    clock.advance(MIN)
    assert (await w.closed_candles(*KEY, 500)).rows() == csv[2502:3002].rows()
    assert shared.failures >= 2
    await down.aclose()


async def test_a_market_with_less_history_than_asked_is_shared_too(shared_data, redis):
    """A new listing: the venue has fewer candles than the strategy asks for; the worker that asked holds all of
    them, so the next worker takes them from Redis and asks the venue for the new one only."""
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock = ManualClock(int(csv.ts[300]) + MIN + 2000)
    ns = f"t{uuid.uuid4().hex[:8]}"
    a, b = (_worker(shared_data, clock, SharedCandles(redis, ns)) for _ in range(2))
    assert (await a.closed_candles(*KEY, 2500)).rows() == csv[:301].rows()
    clock.advance(MIN)
    assert (await b.closed_candles(*KEY, 2500)).rows() == csv[:302].rows()
    assert b.requests[KEY] == 1
