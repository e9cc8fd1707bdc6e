"""Compiled kernels against TA-Lib: DMI and SMA bit for bit, Bollinger bands to rounding, resampling exactly."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from engine import kernels
from engine.candles import Candles, load_csv, resample


@pytest.fixture(scope="module")
def btc(shared_data):
    return load_csv(shared_data / "BTC_USDT-1h.csv")


@pytest.mark.parametrize("period", [2, 14, 28])
def test_dmi_is_talib_bit_for_bit(btc, period):
    h, lo, c = btc.high, btc.low, btc.close
    pdi, mdi, adx = kernels.dmi(h, lo, c, period)
    np.testing.assert_array_equal(pdi, talib.PLUS_DI(h, lo, c, period))
    np.testing.assert_array_equal(mdi, talib.MINUS_DI(h, lo, c, period))
    np.testing.assert_array_equal(adx, talib.ADX(h, lo, c, period))


def test_dmi_on_flat_prices_gives_zeros_like_talib():
    x = np.full(100, 5.0)
    for ours, ref in zip(kernels.dmi(x, x, x, 14), (talib.PLUS_DI(x, x, x, 14), talib.MINUS_DI(x, x, x, 14),
                                                     talib.ADX(x, x, x, 14)), strict=True):
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("period", [2, 20, 100])
def test_sma_is_talib_bit_for_bit(btc, period):
    np.testing.assert_array_equal(kernels.sma(btc.close, period), talib.SMA(btc.close, period))


@pytest.mark.parametrize(("period", "k"), [(15, 1.5), (20, 2.0), (60, 1.5)])
def test_bbands_agree_with_talib_and_with_two_pass_deviation(btc, period, k):
    c = btc.close
    ours, ref = kernels.bbands(c, period, k), talib.BBANDS(c, period, k, k, 0)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a[period - 1 :], b[period - 1 :], rtol=1e-12)
    up, mid = ours[0][period - 1 :], ours[1][period - 1 :]
    two_pass = np.array([np.std(c[i - period + 1 : i + 1]) for i in range(period - 1, len(c))])
    np.testing.assert_allclose((up - mid) / k, two_pass, rtol=0, atol=1e-8)


def test_bbands_flat_window_has_zero_width():
    up, _, lo = kernels.bbands(np.full(50, 123.25), 20, 2.0)
    assert (up[19:] == 123.25).all() and (lo[19:] == 123.25).all()


def test_resample_keeps_gaps_and_partial_buckets():
    m = 60_000
    ts = np.array([0, 1, 2, 5, 6, 14, 15, 31], dtype=np.int64) * m  # gaps inside and between 15m buckets
    x = np.arange(1, 9, dtype=np.float64)
    c = Candles(ts, x, x + 10, x - 10, x + 0.5, np.ones(8))
    r = resample(c, "15m")
    assert r.ts.tolist() == [0, 15 * m, 30 * m]
    assert r.open.tolist() == [1, 7, 8] and r.close.tolist() == [6.5, 7.5, 8.5]
    assert r.high.tolist() == [16, 17, 18] and r.low.tolist() == [-9, -3, -2] and r.volume.tolist() == [6, 1, 1]


def test_warm_up_runs_every_kernel():
    kernels.warm_up()  # fails on any kernel that no longer compiles for the types the engine passes


def test_resample_close_is_resample_s_closes():
    m = 60_000
    ts = np.array([0, 1, 2, 5, 6, 14, 15, 31, 44, 45], dtype=np.int64) * m
    x = np.arange(1, 11, dtype=np.float64)
    r = resample(Candles(ts, x, x, x, x, x), "15m")
    rts, rc = kernels.resample_close(ts, x, 900_000)
    assert rts.tolist() == r.ts.tolist() == [0, 15 * m, 30 * m, 45 * m]
    assert rc.tolist() == r.close.tolist() == [6, 7, 9, 10]
