"""Trend states: Bollinger-bandwidth state, MA cycle, the HYPERRSI trend filter and GRID's ADX state."""

from __future__ import annotations

import numpy as np

from engine import kernels
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
    """For each base candle (ascending), the value of the last higher-timeframe candle CLOSED by its close.

    This is what live trading can know; mapping the still-open higher candle (the seed did) looks ahead.
    """
    values = np.ascontiguousarray(values)
    fill = values.dtype.type(np.nan if values.dtype.kind == "f" else 0)
    return kernels.map_closed(
        np.ascontiguousarray(base_ts, dtype=np.int64), int(base_ms), np.ascontiguousarray(htf_ts, dtype=np.int64),
        int(htf_ms), values, fill,
    )


def cycle_state(ma1: np.ndarray, ma2: np.ndarray, ma3: np.ndarray) -> np.ndarray:
    """+1 bull (ma1>ma2>ma3 or ma2>ma1>ma3), -1 bear (ma3>ma2>ma1), else 0; NaN inputs give 0."""
    with np.errstate(invalid="ignore"):
        bull = ((ma1 > ma2) & (ma2 > ma3)) | ((ma2 > ma1) & (ma1 > ma3))
        bear = (ma3 > ma2) & (ma2 > ma1)
    return bull.astype(np.int8) - bear.astype(np.int8)


def bb_state(close, length: int = 15, mult: float = 1.5, ma_length: int = 100, long_length: int = 60) -> np.ndarray:
    """The seed's BB_State (a TradingView port): +2 expansion up, -2 expansion down, -1 squeeze, 0 neutral.

    Bandwidth BBW = (upper-lower)*10/basis, BBR = (close-lower)/(upper-lower). Pivot highs (20 left, 10 right)
    of BBW above its SMA(ma_length) average into `buzz` = 0.7 * mean of the last 50; pivot lows below it into
    `squeeze` = mean / 0.7. The squeeze flag is the long-band (length `long_length`) bandwidth below 1.
    Transitions, first match wins: BBW crosses above buzz -> +2 if BBR > 0.5 else -2; BBW < squeeze with the
    flag -> -1; +2 with BBR < 0.2 -> -2; -2 with BBR > 0.8 -> +2; ±2 with BBW falling two bars -> 0;
    -1 with BBW above the mean pivot low and rising -> 0; otherwise the state holds.
    """
    if min(length, ma_length, long_length) < 2:
        raise ValueError("bb_state lengths must be at least 2")
    c = np.ascontiguousarray(close, dtype=np.float64)
    return kernels.bb_state(c, int(length), float(mult), int(ma_length), int(long_length), 20, 10, 50)


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
    states = kernels.persist(cyc, bb_state(h.close))
    out = map_completed(candles.ts, bms, h.ts, hms, states)
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
    if di_len < 2:
        raise ValueError("di_len must be at least 2")
    h, lo, c = (np.ascontiguousarray(v, dtype=np.float64) for v in (high, low, close))
    if not len(h) == len(lo) == len(c):
        raise ValueError("high, low and close must have the same length")
    return kernels.adx_state(h, lo, c, int(di_len), float(threshold))
