"""Trend states: hand-made cases for each rule, no lookahead (a prefix gives the same states), real data."""

from __future__ import annotations

import numpy as np
import pytest

from engine.candles import Candles, load_csv
from engine.trend import adx_state, bb_state, cycle_state, map_completed, second_cycle_state, trend_state

# The BB_State and trend_state rules bar by bar against a reference of the spec: tests/test_trend_spec.py.


def test_cycle_state_by_hand():
    ma1 = np.array([3, 2, 1, 2, np.nan])
    ma2 = np.array([2, 3, 2, 2, 1])
    ma3 = np.array([1, 1, 3, 1, 1])
    assert cycle_state(ma1, ma2, ma3).tolist() == [1, 1, -1, 0, 0]


def test_second_cycle_state_by_hand():
    # the six orders of three MAs: m1>m3>m2, m1>m2>m3, m2>m1>m3 bull; m3>m2>m1, m2>m3>m1, m3>m1>m2 bear
    ma1 = np.array([3, 3, 2, 1, 1, 2, 1, np.nan])
    ma2 = np.array([1, 2, 3, 2, 3, 1, 1, 1])
    ma3 = np.array([2, 1, 1, 3, 2, 3, 1, 1])
    assert second_cycle_state(ma1, ma2, ma3).tolist() == [1, 1, 1, -1, -1, -1, 0, 0]


def test_map_completed_uses_only_closed_higher_candles():
    m, q = 60_000, 900_000
    base = np.arange(0, 45 * m, m)  # 45 one-minute candles = three 15m candles
    htf = np.array([0, q, 2 * q])
    vals = np.array([10.0, 20.0, 30.0])
    out = map_completed(base, m, htf, q, vals)
    assert np.isnan(out[:14]).all()  # the first 15m candle closes with the 15th minute
    assert out[14] == 10.0 and out[28] == 10.0 and out[29] == 20.0 and out[44] == 30.0


@pytest.fixture(scope="module")
def btc1m(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")


def test_trend_state_has_no_lookahead(btc1m):
    c = btc1m[:20_000]
    full = trend_state(c, "1m")
    assert set(np.unique(full)) <= {-2, 0, 2} and (full != 0).any()
    for k in (2_345, 7_777, 15_001):
        np.testing.assert_array_equal(trend_state(c[:k], "1m"), full[:k])


def test_short_history_means_no_gating(btc1m):
    assert (trend_state(btc1m[:199], "1m") == 0).all()


def test_bb_state_and_adx_state_are_causal(shared_data):
    h = load_csv(shared_data / "BTC_USDT-1h.csv")[:6000]
    bb, ax = bb_state(h.close), adx_state(h.high, h.low, h.close)
    assert set(np.unique(bb)) == {-2, -1, 0, 2}
    assert set(np.unique(ax)) == {-2, -1, 0, 1, 2}
    for k in (500, 3333):
        np.testing.assert_array_equal(bb_state(h.close[:k]), bb[:k])
        np.testing.assert_array_equal(adx_state(h.high[:k], h.low[:k], h.close[:k]), ax[:k])


def _candles(close: np.ndarray, spread: float = 0.5) -> Candles:
    n = len(close)
    return Candles(np.arange(n, dtype=np.int64) * 3_600_000, close, close + spread, close - spread, close, np.ones(n))


def _adx_state_loop(h, lo, c, n=28, th=20):
    """The seed's state machine written bar by bar, as a reference."""
    import talib

    pdi, mdi, a = talib.PLUS_DI(h, lo, c, n), talib.MINUS_DI(h, lo, c, n), talib.ADX(h, lo, c, n)
    state, out = 0, []
    for i in range(len(c)):

        def ok(*v):
            return not any(np.isnan(v))

        hh = h[i - 49 : i + 1].max() if i >= 49 else np.nan
        ll = lo[i - 49 : i + 1].min() if i >= 49 else np.nan
        reset = (
            i >= 3
            and ok(a[i], a[i - 1], a[i - 2], a[i - 3])
            and ((a[i] < th <= a[i - 1]) or (a[i] < a[i - 1] < a[i - 2] < a[i - 3] and a[i] > th))
        )
        if (
            (state != 0 and reset)
            or (state == -2 and ok(ll) and c[i] >= 1.1 * ll)
            or (state == 2 and ok(hh) and c[i] <= 0.9 * hh)
        ):
            state = 0
        elif (
            state == 0
            and i >= 1
            and ok(pdi[i], mdi[i], pdi[i - 1], mdi[i - 1])
            and pdi[i] > mdi[i]
            and pdi[i - 1] <= mdi[i - 1]
        ):
            state = 1
        elif (
            state == 0
            and i >= 1
            and ok(pdi[i], mdi[i], pdi[i - 1], mdi[i - 1])
            and mdi[i] > pdi[i]
            and mdi[i - 1] <= pdi[i - 1]
        ):
            state = -1
        elif abs(state) == 1 and i >= 2 and ok(a[i], a[i - 1], a[i - 2]) and a[i] > a[i - 1] > a[i - 2]:
            state = 2 * state
        out.append(state)
    return np.array(out)


def test_adx_state_equals_the_bar_by_bar_rules(shared_data):
    h = load_csv(shared_data / "BTC_USDT-4h.csv")
    np.testing.assert_array_equal(adx_state(h.high, h.low, h.close), _adx_state_loop(h.high, h.low, h.close))


def test_bb_state_expansion_after_a_squeeze():
    rng = np.random.default_rng(7)
    quiet = 100 + np.cumsum(rng.normal(0, 0.05, 400))
    burst = quiet[-1] + np.cumsum(np.full(30, 1.5))  # a breakout upward
    st = bb_state(np.r_[quiet, burst])
    assert (st[400:] == 2).any()  # the breakout upward is an upward expansion


@pytest.mark.parametrize(("left", "right", "long_left"), [(20, 0, 30), (0, 10, 30), (20, 10, 0)])
def test_bb_state_kernel_refuses_a_pivot_window_without_a_bar_on_one_side(left, right, long_left):
    from engine import kernels

    with pytest.raises(ValueError, match="one bar on each side"):  # it would read past its look-ahead buffer
        kernels.bb_state(np.linspace(1.0, 2.0, 3000), 15, 1.5, 100, 60, left, right, 50, long_left)


def test_trend_state_on_gapped_data_maps_only_closed_candles(shared_data):
    h = load_csv(shared_data / "BTC_USDT-1h.csv")[:20_000]  # holds real outages
    assert (np.diff(h.ts) > 3_600_000).any()
    st = trend_state(h, "1h")
    np.testing.assert_array_equal(trend_state(h[:12_345], "1h"), st[:12_345])
