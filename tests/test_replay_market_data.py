"""Replay serves the CSV exactly and only closed candles; 1m aggregates to the 5m/1h files; one fetch per key."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from engine.candles import load_csv
from engine.market.candle_cache import CandleCache
from engine.market.clock import ManualClock, ReplayClock
from engine.market.replay import ReplaySource

MIN = 60_000


@pytest.fixture
def replay(shared_data):
    clock = ManualClock()
    return ReplaySource(shared_data, clock), clock


async def test_replayed_candles_equal_the_csv(replay, shared_data):
    src, clock = replay
    csv = load_csv(shared_data / "ETH_USDT-1m.csv")
    clock.set(int(csv.ts[500]) + MIN)  # candle 500 has just closed
    rows = await src.fetch_ohlcv("ETH/USDT", "1m", since=int(csv.ts[0]), limit=1000)
    assert rows == csv[:501].rows()
    clock.set(int(csv.ts[500]) + MIN - 1)  # a millisecond earlier it is still forming
    assert (await src.fetch_ohlcv("ETH/USDT", "1m", since=int(csv.ts[0]), limit=1000))[-1][0] == csv.ts[499]


@pytest.mark.parametrize(("sym", "tf"), [("BTC/USDT", "5m"), ("ETH/USDT", "5m"), ("BTC/USDT", "1h")])
async def test_one_minute_candles_aggregate_to_the_coarser_files(shared_data, sym, tf):
    src = ReplaySource(shared_data, ManualClock(2**62))
    src._files[sym] = [f for f in src._files[sym] if f[0] == MIN]  # force aggregation from 1m
    src._cache.clear()
    agg = src.candles(sym, tf)
    ref = load_csv(shared_data / f"{sym.replace('/', '_')}-{tf}.csv")
    common, ia, ib = np.intersect1d(agg.ts, ref.ts, return_indices=True)
    ia, ib = ia[1:], ib[1:]  # the first bucket may start mid-bucket in the 1m file
    assert len(common) > 100
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(agg, col)[ia], getattr(ref, col)[ib])
    np.testing.assert_allclose(agg.volume[ia], ref.volume[ib], rtol=1e-9)


async def test_market_data_fetches_once_for_all_subscribers_and_then_incrementally(replay, shared_data):
    src, clock = replay
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock.set(int(csv.ts[1000]) + MIN + 2000)
    md = CandleCache({"replay": src}, clock)
    got = await asyncio.gather(*(md.closed_candles("replay", "BTC/USDT", "1m", 200) for _ in range(50)))
    key = ("replay", "BTC/USDT", "1m")
    assert md.requests[key] == 1 and all(g.rows() == csv[801:1001].rows() for g in got)
    clock.advance(5 * MIN)
    c = await md.closed_candles("replay", "BTC/USDT", "1m", 200)
    assert md.requests[key] == 2 and c.rows() == csv[806:1006].rows()
    await md.closed_candles("replay", "BTC/USDT", "1m", 200)
    assert md.requests[key] == 2  # nothing new has closed: no request


async def test_gaps_are_tolerated_and_counted(shared_data):
    h = load_csv(shared_data / "BTC_USDT-1h.csv")
    clock = ManualClock(int(h.ts[3000]) + 3_600_000)
    md = CandleCache({"replay": ReplaySource(shared_data, clock)}, clock)
    c = await md.closed_candles("replay", "BTC/USDT", "1h", 3000)
    assert len(c) > 2800 and (np.diff(c.ts) > 3_600_000).any()
    assert md.gaps[("replay", "BTC/USDT", "1h")] >= 1


def test_replay_clock_runs_at_its_speed():
    wall = ManualClock(1_000)
    clock = ReplayClock(start_ms=5_000_000, speed=60, wall=wall)
    wall.advance(1_000)
    assert clock.now_ms() == 5_060_000


async def test_the_cache_keeps_only_as_deep_as_asked(replay, shared_data):
    src, clock = replay
    csv = load_csv(shared_data / "BTC_USDT-1m.csv")
    clock.set(int(csv.ts[100]) + MIN)
    md = CandleCache({"replay": src}, clock, keep=5000)
    key = ("replay", "BTC/USDT", "1m")
    for _ in range(300):  # a paper feed reading the last two candles of every minute
        c = await md.closed_candles("replay", "BTC/USDT", "1m", 2)
        clock.advance(MIN)
    assert c.rows() == csv[398:400].rows() and len(md._cache[key]) == 2
    deeper = await md.closed_candles("replay", "BTC/USDT", "1m", 50)  # a deeper reader refetches once
    assert deeper.rows() == csv[351:401].rows() and len(md._cache[key]) == 50
