"""Standard indicators equal TA-Lib exactly (values and NaN warm-up) on real candles with gaps."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from hypothesis import given
from hypothesis import strategies as st

from engine import indicators as ind
from engine.candles import load_csv


@pytest.fixture(scope="module")
def btc(shared_data):
    return load_csv(shared_data / "BTC_USDT-1h.csv")  # 61,720 hours with 28 real outages


def _same(a, b):
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(a[~np.isnan(a)], b[~np.isnan(b)])


def test_equal_to_talib_on_real_data(btc):
    h, lo, c = btc.high, btc.low, btc.close
    _same(ind.sma(c, 20), talib.SMA(c, 20))
    _same(ind.ema(c, 20), talib.EMA(c, 20))
    _same(ind.rsi(c), talib.RSI(c, 14))
    _same(ind.atr(h, lo, c), talib.ATR(h, lo, c, 14))
    _same(ind.adx(h, lo, c), talib.ADX(h, lo, c, 14))
    for ours, ref in zip(ind.bollinger(c, 20, 2.0), talib.BBANDS(c, 20, 2.0, 2.0, 0), strict=True):
        _same(ours, ref)


def test_warm_up_lengths(btc):
    c = btc.close[:100]
    assert np.isnan(ind.rsi(c, 14)).sum() == 14
    assert np.isnan(ind.ema(c, 20)).sum() == 19
    assert np.isnan(ind.atr(btc.high[:100], btc.low[:100], c, 14)).sum() == 14
    assert np.isnan(ind.adx(btc.high[:100], btc.low[:100], c, 14)).sum() == 27


def test_hand_computed_values():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(ind.sma(x, 3)[2:], [2.0, 3.0, 4.0])
    # EMA(3): seed = SMA of first 3 = 2; then k = 0.5: (4-2)/2+2 = 3; (5-3)/2+3 = 4
    np.testing.assert_allclose(ind.ema(x, 3)[2:], [2.0, 3.0, 4.0])
    assert ind.rsi(np.arange(1.0, 30.0))[-1] == 100.0  # monotonic rise
    assert ind.rsi(np.full(30, 7.0))[-1] == 0.0  # TA-Lib's flat-window convention
    up, mid, lo = ind.bollinger(np.array([1.0, 2.0, 3.0]), 3, 2.0)
    sd = np.sqrt(((np.array([1, 2, 3]) - 2.0) ** 2).mean())  # population standard deviation
    assert (up[2], mid[2], lo[2]) == pytest.approx((2 + 2 * sd, 2.0, 2 - 2 * sd))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_periods_are_refused(bad):
    with pytest.raises(ValueError, match="period"):
        ind.sma(np.ones(10), bad)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="same length"):
        ind.atr(np.ones(5), np.ones(4), np.ones(5))


@given(st.lists(st.floats(1, 1e6), min_size=1, max_size=60), st.integers(2, 30))
def test_length_is_preserved(xs, period):
    x = np.array(xs)
    for out in (ind.sma(x, period), ind.ema(x, period), ind.rsi(x, period)):
        assert len(out) == len(x)
