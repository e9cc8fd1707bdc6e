"""Trend states: Bollinger-bandwidth state, MA cycle, the HYPERRSI trend filter and GRID's ADX state."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine import indicators as ind
from engine.candles import Candles, resample, timeframe_ms
from engine.smoothing import jma, rational_quadratic

MIN_HISTORY = 200  # base candles below which the trend filter says 0 (no gating)


def higher_timeframe(timeframe: str) -> str:
    """The timeframe the trend filter reads for a bot on `timeframe` (seed: ≤3m→15m, ≤30m→30m, <4h→1h, else 8h)."""
    minutes = timeframe_ms(timeframe) // 60_000
    if minutes <= 3:
        return "15m"
    if minutes <= 30:
        return "30m"
    if minutes < 240:
        return "1h"
    return "8h"


def map_completed(base_ts: np.ndarray, base_ms: int, htf_ts: np.ndarray, htf_ms: int, values: np.ndarray):
    """For each base candle, the value of the last higher-timeframe candle CLOSED by the base candle's close.

    This is what live trading can know; mapping the still-open higher candle (the seed did) looks ahead.
    """
    idx = np.searchsorted(htf_ts + htf_ms, base_ts + base_ms, side="right") - 1
    out = np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan if values.dtype.kind == "f" else 0)
    return out.astype(values.dtype, copy=False)


def cycle_state(ma1: np.ndarray, ma2: np.ndarray, ma3: np.ndarray) -> np.ndarray:
    """+1 bull (ma1>ma2>ma3 or ma2>ma1>ma3), -1 bear (ma3>ma2>ma1), else 0; NaN inputs give 0."""
    with np.errstate(invalid="ignore"):
        bull = ((ma1 > ma2) & (ma2 > ma3)) | ((ma2 > ma1) & (ma1 > ma3))
        bear = (ma3 > ma2) & (ma2 > ma1)
    return bull.astype(np.int8) - bear.astype(np.int8)


def _pivots(x: np.ndarray, left: int, right: int, high: bool) -> np.ndarray:
    """Boolean mask at the bar where a pivot is CONFIRMED (pivot bar + right): strictly beyond the left bars,
    at least as far as the right bars (TradingView's ta.pivothigh/ta.pivotlow)."""
    n = len(x)
    out = np.zeros(n, dtype=bool)
    if n < left + right + 1:
        return out
    win = sliding_window_view(x, left + right + 1)
    centre = win[:, left]
    lft, rgt = win[:, :left], win[:, left + 1 :]
    with np.errstate(invalid="ignore"):
        if high:
            ok = (centre > np.nanmax(lft, axis=1)) & (centre >= np.nanmax(rgt, axis=1))
        else:
            ok = (centre < np.nanmin(lft, axis=1)) & (centre <= np.nanmin(rgt, axis=1))
    out[left + right :] = ok & ~np.isnan(centre)
    return out


def _mean_of_last(events: np.ndarray, values: np.ndarray, keep: int) -> np.ndarray:
    """At each bar, the mean of `values` at the last `keep` event bars so far (NaN before the first event)."""
    idx = np.flatnonzero(events)
    out = np.full(len(events), np.nan)
    if len(idx) == 0:
        return out
    v = values[idx]
    c = np.r_[0.0, np.cumsum(v)]
    k = np.arange(1, len(v) + 1)
    lo = np.maximum(k - keep, 0)
    means = (c[k] - c[lo]) / (k - lo)
    pos = np.searchsorted(idx, np.arange(len(events)), side="right") - 1
    has = pos >= 0
    out[has] = means[pos[has]]
    return out


def bb_state(close, length: int = 15, mult: float = 1.5, ma_length: int = 100, long_length: int = 60) -> np.ndarray:
    """The seed's BB_State (a TradingView port): +2 expansion up, -2 expansion down, -1 squeeze, 0 neutral.

    Bandwidth BBW = (upper-lower)*10/basis, BBR = (close-lower)/(upper-lower). Pivot highs (20 left, 10 right)
    of BBW above its SMA(ma_length) average into `buzz` = 0.7 * mean of the last 50; pivot lows below it into
    `squeeze` = mean / 0.7. The squeeze flag is the long-band (length `long_length`) bandwidth below 1.
    Transitions, first match wins: BBW crosses above buzz -> +2 if BBR > 0.5 else -2; BBW < squeeze with the
    flag -> -1; +2 with BBR < 0.2 -> -2; -2 with BBR > 0.8 -> +2; ±2 with BBW falling two bars -> 0;
    -1 with BBW above the mean pivot low and rising -> 0; otherwise the state holds.
    """
    c = np.ascontiguousarray(close, dtype=np.float64)
    n = len(c)
    up, mid, lo = ind.bollinger(c, length, mult)
    with np.errstate(invalid="ignore", divide="ignore"):
        bbw = (up - lo) * 10 / mid
        bbr = np.where(up > lo, (c - lo) / (up - lo), 0.5)
        up2, mid2, lo2 = ind.bollinger(c, long_length, mult) if n else (c, c, c)
        flag = (up2 - lo2) * 10 / mid2 < 1
    ma = ind.sma(np.nan_to_num(bbw, nan=0.0), ma_length) if n >= ma_length else np.full(n, np.nan)
    ph, pl = _pivots(bbw, 20, 10, True), _pivots(bbw, 20, 10, False)
    piv_val = np.r_[np.full(10, np.nan), bbw[:-10]] if n > 10 else np.full(n, np.nan)
    piv_ma = np.r_[np.full(10, np.nan), ma[:-10]] if n > 10 else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        avg_high = _mean_of_last(ph & (piv_val > piv_ma), piv_val, 50)
        avg_low = _mean_of_last(pl & (piv_val < piv_ma), piv_val, 50)
        buzz, squeeze = 0.7 * avg_high, avg_low / 0.7
        prev_bbw, prev_buzz = np.r_[np.nan, bbw[:-1]], np.r_[np.nan, buzz[:-1]]
        prev2 = np.r_[np.nan, np.nan, bbw[:-2]]
        cross = (bbw > buzz) & (prev_bbw <= prev_buzz)
        sq = (bbw < squeeze) & flag
        falling = (bbw < prev_bbw) & (prev_bbw < prev2)
        recover = (bbw > avg_low) & (bbw > prev_bbw)
        low_r, high_r, half = bbr < 0.2, bbr > 0.8, bbr > 0.5
    out = np.zeros(n, dtype=np.int8)
    state = 0
    last = 0
    for i in np.flatnonzero(cross | sq | low_r | high_r | falling | recover):  # other bars only hold the state
        out[last:i] = state
        if cross[i]:
            state = 2 if half[i] else -2
        elif sq[i]:
            state = -1
        elif state == 2 and low_r[i]:
            state = -2
        elif state == -2 and high_r[i]:
            state = 2
        elif (state in (2, -2) and falling[i]) or (state == -1 and recover[i]):
            state = 0
        out[i] = state
        last = i + 1
    out[last:] = state
    return out


def _persist(bull: np.ndarray, bear: np.ndarray, bb: np.ndarray) -> np.ndarray:
    """Pine `var` trend: +2 on bull with bb +2, back to 0 when bull ends; -2 mirror; otherwise hold."""
    n = len(bull)
    out = np.zeros(n, dtype=np.int8)
    go_up, go_dn = bull & (bb == 2), bear & (bb == -2)
    state, last = 0, 0
    for i in np.flatnonzero(go_up | go_dn | ~bull | ~bear):
        out[last:i] = state
        if (state == 2 and not bull[i]) or (state == -2 and not bear[i]):
            state = 0
        if state == 0 and go_up[i]:
            state = 2
        elif state == 0 and go_dn[i]:
            state = -2
        out[i] = state
        last = i + 1
    out[last:] = state
    return out


def trend_state(candles: Candles, timeframe: str, lengths: tuple[int, int, int] = (5, 10, 20)) -> np.ndarray:
    """HYPERRSI's trend filter per base candle, in {-2, 0, +2}, from higher-timeframe candles closed by then.

    MAs are JMA(lengths) on the higher timeframe, each smoothed by the rational-quadratic kernel; the cycle
    and BB_State come from the same higher timeframe. With fewer than 200 base candles of history: 0.
    """
    n = len(candles)
    out = np.zeros(n, dtype=np.int8)
    if n < MIN_HISTORY:
        return out
    htf = higher_timeframe(timeframe)
    h = resample(candles, htf)
    hms, bms = timeframe_ms(htf), timeframe_ms(timeframe)
    complete = h.ts + hms <= candles.ts[-1] + bms  # the last bucket may be partly covered
    h = h[: int(complete.sum())] if not complete.all() else h
    ma = [rational_quadratic(jma(h.close, k)) for k in lengths]
    cyc = cycle_state(*ma)
    states = _persist(cyc == 1, cyc == -1, bb_state(h.close))
    out = map_completed(candles.ts, bms, h.ts, hms, states).astype(np.int8)
    out[:MIN_HISTORY] = 0
    return out


def adx_state(high, low, close, di_len: int = 28, adx_len: int = 28, threshold: float = 20) -> np.ndarray:
    """GRID's ADX state in {-2, -1, 0, 1, 2} (seed state machine, inputs from TA-Lib's DI and ADX).

    The seed's own ADX used H-L instead of the true range; TA-Lib's is the standard Wilder ADX. TA-Lib uses one
    period for DI and ADX, so `adx_len` must equal `di_len`. Rules, first match wins: any non-zero state -> 0 when
    ADX crosses below the threshold or fell three bars in a row while above it; -2 -> 0 when close >= 1.1 x the
    50-bar lowest low; +2 -> 0 when close <= 0.9 x the 50-bar highest high; from 0: +DI crossing above -DI -> 1,
    -DI crossing above +DI -> -1; from 1 (-1): ADX rising two bars in a row -> 2 (-2).
    """
    if adx_len != di_len:
        raise ValueError("TA-Lib computes DI and ADX with one period: adx_len must equal di_len")
    h, lo, c = (np.ascontiguousarray(v, dtype=np.float64) for v in (high, low, close))
    n = len(c)
    pdi, mdi, a = ind.plus_di(h, lo, c, di_len), ind.minus_di(h, lo, c, di_len), ind.adx(h, lo, c, adx_len)
    p1, m1, a1 = (np.r_[np.nan, v[:-1]] for v in (pdi, mdi, a))
    a2, a3 = np.r_[np.nan, np.nan, a[:-2]], np.r_[np.nan, np.nan, np.nan, a[:-3]]
    hh = np.r_[np.full(49, np.nan), sliding_window_view(h, 50).max(axis=1)] if n >= 50 else np.full(n, np.nan)
    ll = np.r_[np.full(49, np.nan), sliding_window_view(lo, 50).min(axis=1)] if n >= 50 else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        reset = ((a < threshold) & (a1 >= threshold)) | ((a < a1) & (a1 < a2) & (a2 < a3) & (a > threshold))
        bounce, drop = c >= 1.1 * ll, c <= 0.9 * hh
        bull_x, bear_x = (pdi > mdi) & (p1 <= m1), (mdi > pdi) & (m1 <= p1)
        rising = (a > a1) & (a1 > a2)
    out = np.zeros(n, dtype=np.int8)
    state, last = 0, 0
    for i in np.flatnonzero(reset | bounce | drop | bull_x | bear_x | rising):
        out[last:i] = state
        if (state != 0 and reset[i]) or (state == -2 and bounce[i]) or (state == 2 and drop[i]):
            state = 0
        elif state == 0 and bull_x[i]:
            state = 1
        elif state == 0 and bear_x[i]:
            state = -1
        elif state == 1 and rising[i]:
            state = 2
        elif state == -1 and rising[i]:
            state = -2
        out[i] = state
        last = i + 1
    out[last:] = state
    return out
