"""Strategy inputs: causal (a prefix gives the same values at its bars), the right indicators, warm-up lengths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import indicators as ind
from engine.candles import load_csv, resample
from engine.smoothing import er_adaptive
from engine.strategies.grid import GridCandle, GridSettings
from engine.strategies.grid_ladder import MarketRules
from engine.strategies.hyperrsi import CandleInputs, HyperRsiSettings
from engine.strategy_inputs import grid_inputs, hyperrsi_inputs, true_range_mean, warmup
from engine.trend import adx_state, trend_state

HR_FIELDS = ("index", "open", "high", "low", "close", "rsi", "rsi_prev", "atr", "trend_state")
GRID_FIELDS = ("index", "high", "low", "close", "centre", "atr", "adx_state")


@pytest.fixture(scope="module")
def btc_1m(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:12_000]


@pytest.fixture(scope="module")
def btc_15m(shared_data):
    return load_csv(shared_data / "BTC_USDT-15m.csv")[:6_000]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("n", [150, 199, 200, 201, 777, 3_001, 9_999])
def test_hyperrsi_prefix_equals_full(btc_1m, n):
    s = HyperRsiSettings(timeframe="1m")
    full, part = hyperrsi_inputs(s, btc_1m), hyperrsi_inputs(s, btc_1m[:n])
    for f in HR_FIELDS:
        assert _same(getattr(part, f), getattr(full, f)[:n]), f
    assert part.at(n - 1) == full.at(n - 1)


@pytest.mark.parametrize("n", [14, 15, 100, 961, 1_000, 4_321, 11_999])
def test_grid_prefix_equals_full(btc_1m, n):
    s = GridSettings(mode="adaptive", timeframe="1m")
    full, part = grid_inputs(s, btc_1m), grid_inputs(s, btc_1m[:n])
    for f in GRID_FIELDS:
        assert _same(getattr(part, f), getattr(full, f)[:n]), f
    assert part.at(n - 1) == full.at(n - 1)


def test_grid_prefix_on_15m(btc_15m):
    s = GridSettings(mode="adaptive")  # 15m, ADX on 4h
    full = grid_inputs(s, btc_15m)
    for n in (17, 500, 2_345):
        part = grid_inputs(s, btc_15m[:n])
        for f in GRID_FIELDS:
            assert _same(getattr(part, f), getattr(full, f)[:n]), (n, f)
    assert set(np.unique(full.adx_state)) <= {-2, -1, 0, 1, 2}
    assert np.any(full.adx_state != 0)


def test_hyperrsi_values_are_the_indicators(btc_1m):
    s = HyperRsiSettings(timeframe="1m", rsi_period=21)
    x = hyperrsi_inputs(s, btc_1m, rules=MarketRules(min_amount=0.001, min_cost=5.0))
    rsi = ind.rsi(btc_1m.close, 21)
    assert _same(x.rsi, rsi)
    assert _same(x.rsi_prev[1:], rsi[:-1]) and math.isnan(x.rsi_prev[0])
    assert _same(x.atr, ind.atr(btc_1m.high, btc_1m.low, btc_1m.close, 14))
    assert np.array_equal(x.trend_state, trend_state(btc_1m, "1m"))
    assert np.array_equal(x.index, btc_1m.ts // 60_000)
    assert x.ready == 22  # RSI(21) from bar 21, its previous value from bar 22
    c = x.at(500)
    assert isinstance(c, CandleInputs)
    assert (c.open, c.high, c.low, c.close) == tuple(float(a[500]) for a in
                                                     (btc_1m.open, btc_1m.high, btc_1m.low, btc_1m.close))
    assert (c.rsi, c.rsi_prev, c.min_amount, c.min_cost) == (rsi[500], rsi[499], 0.001, 5.0)


def test_grid_values_are_the_indicators(btc_15m):
    s = GridSettings(mode="adaptive", fama_length=30, atr_length=10)
    x = grid_inputs(s, btc_15m)
    assert _same(x.centre, er_adaptive(btc_15m.close, 30)[1])
    h, lo, c = btc_15m.high, btc_15m.low, btc_15m.close
    tr = np.r_[h[0] - lo[0], np.maximum(h[1:] - lo[1:], np.maximum(abs(h[1:] - c[:-1]), abs(lo[1:] - c[:-1])))]
    assert np.allclose(x.atr[9:], np.convolve(tr, np.ones(10) / 10, "valid"), rtol=1e-12)
    assert np.isnan(x.atr[:9]).all() and x.ready == 9
    assert _same(true_range_mean(h, lo, c, 10), x.atr)
    # ADX state of the last CLOSED 4h candle: a 15m candle opening at 03:45 closes the 00:00 4h candle
    h4 = resample(btc_15m, "4h")
    st = adx_state(h4.high, h4.low, h4.close, 28, 28, 20)
    closes_4h = np.flatnonzero((btc_15m.ts + 900_000) % 14_400_000 == 0)
    for i in closes_4h[40:60]:
        k = np.searchsorted(h4.ts, btc_15m.ts[i] + 900_000 - 14_400_000)
        assert x.adx_state[i] == st[k]
        assert x.adx_state[i - 1] == (st[k - 1] if k else 0)
    g = x.at(100)
    assert isinstance(g, GridCandle) and g.centre == x.centre[100] and g.adx_state == x.adx_state[100]


def test_adx_gate_off_gives_zero_state(btc_15m):
    x = grid_inputs(GridSettings(mode="adaptive", adx_gate=False), btc_15m)
    assert not x.adx_state.any()


def test_warmup_lengths():
    # the trend filter: 900 closed candles of its cycle timeframe, 3,000 of its BB_State timeframe
    assert warmup(HyperRsiSettings(timeframe="1m")) == 5 * 3000  # BB_State on 5m (the cycle: 15 * 900)
    assert warmup(HyperRsiSettings(timeframe="5m")) == 3 * 3000  # BB_State on 15m (the cycle: 6 * 900)
    assert warmup(HyperRsiSettings(timeframe="15m")) == 3000  # BB_State on 15m itself (the cycle: 2 * 900)
    assert warmup(HyperRsiSettings(timeframe="30m")) == 2 * 3000  # BB_State on 1h
    assert warmup(HyperRsiSettings(timeframe="4h", rsi_period=100)) == 3000  # BB_State on 4h itself, cycle 8h
    assert warmup(HyperRsiSettings(timeframe="1d", rsi_period=100)) == 3000  # more than the RSI's 12 * 100 + 1
    assert warmup(GridSettings(mode="adaptive")) == 16 * 440  # 440 closed 4h candles for the ADX state
    assert warmup(GridSettings(mode="adaptive", adx_gate=False, fama_length=40)) == 12 * 40 + 60


def test_long_enough_window_matches_full_history_last_row(btc_15m):
    """What live sees with `warmup` candles is (nearly) what the long backtest computes for the same bar."""
    s = GridSettings(mode="adaptive", adx_gate=False)
    full = grid_inputs(s, btc_15m)
    w = warmup(s)
    live = grid_inputs(s, btc_15m[len(btc_15m) - w:])
    assert live.at(w - 1).atr == pytest.approx(full.at(len(full) - 1).atr, rel=1e-12)
    assert live.at(w - 1).centre == pytest.approx(full.at(len(full) - 1).centre, rel=1e-6)
    r = HyperRsiSettings()
    fr, lr = hyperrsi_inputs(r, btc_15m), hyperrsi_inputs(r, btc_15m[len(btc_15m) - warmup(r):])
    assert lr.rsi[-1] == pytest.approx(fr.rsi[-1], abs=1e-4)
