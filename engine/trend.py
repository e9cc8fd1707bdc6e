"""Trend states: Bollinger-bandwidth state, MA cycle, the HYPERRSI trend filter and GRID's ADX state."""

from __future__ import annotations

import numpy as np

from engine import kernels
from engine.candles import Candles, timeframe_ms
from engine.smoothing import jma, rational_quadratic, t3_seeded, vidya

MIN_HISTORY = 200  # base candles below which the trend filter says 0 (no gating)
SECOND_CYCLE_MINUTES = 240  # the seed's second cycle (use_longer_trend) always reads 240m candles


def _at_least(timeframe: str, minutes: int) -> str:
    """`minutes` as a timeframe, or the chart's own when that is longer: the bot has no shorter candles."""
    mtf = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
    return timeframe if timeframe_ms(mtf) <= timeframe_ms(timeframe) else mtf


def cycle_timeframe(timeframe: str) -> str:
    """The seed's `res_`, where the MA cycle is read: ≤3m → 15m, ≤30m → 30m, <4h → 1h, else 8h (never shorter
    than the chart: a 1d chart reads its own candles)."""
    minutes = timeframe_ms(timeframe) // 60_000
    return _at_least(timeframe, 15 if minutes <= 3 else 30 if minutes <= 30 else 60 if minutes < 240 else 480)


def bb_timeframe(timeframe: str) -> str:
    """The seed's `bb_mtf`, where BB_State is read: ≤3m → 5m, ≤15m → 15m, else 1h (the chart's own when that is
    the same or longer, e.g. on 4h and 1d)."""
    minutes = timeframe_ms(timeframe) // 60_000
    return _at_least(timeframe, 5 if minutes <= 3 else 15 if minutes <= 15 else 60)


def cycle_lengths(use_longer_trend: bool = False, custom_length: int | None = None) -> tuple[tuple[int, int, int], str]:
    """The cycle's MA lengths and type: JMA 5/10/20; with use_longer_trend T3 20/40/120; with a custom length L
    T3 (L+1, round(2.6 L), round(4.8 L)), which wins over use_longer_trend."""
    if custom_length is not None:
        if custom_length < 1:
            raise ValueError("custom_length must be at least 1")
        return (custom_length + 1, round(custom_length * 2.6), round(custom_length * 4.8)), "T3"
    return ((20, 40, 120), "T3") if use_longer_trend else ((5, 10, 20), "JMA")


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


def _on_chart(candles: Candles, timeframe: str, mtf: str, fn) -> np.ndarray:
    """fn(closes of `mtf`) per chart candle, from the last `mtf` candle closed by its close (0 before any)."""
    if mtf == timeframe:
        return fn(candles.close)
    hms, bms = timeframe_ms(mtf), timeframe_ms(timeframe)
    ts = np.ascontiguousarray(candles.ts, dtype=np.int64)
    hts, hc = kernels.resample_close(ts, np.ascontiguousarray(candles.close, dtype=np.float64), hms)
    k = int(np.searchsorted(hts + hms, candles.ts[-1] + bms, side="right"))  # the last may be partly covered
    if k == 0:
        return np.zeros(len(candles), dtype=np.int8)
    return map_completed(candles.ts, bms, hts[:k], hms, fn(hc[:k]))


def cycle_state(ma1: np.ndarray, ma2: np.ndarray, ma3: np.ndarray) -> np.ndarray:
    """+1 bull (ma1>ma2>ma3 or ma2>ma1>ma3), -1 bear (ma3>ma2>ma1), else 0; NaN inputs give 0."""
    with np.errstate(invalid="ignore"):
        bull = ((ma1 > ma2) & (ma2 > ma3)) | ((ma2 > ma1) & (ma1 > ma3))
        bear = (ma3 > ma2) & (ma2 > ma1)
    return bull.astype(np.int8) - bear.astype(np.int8)


def second_cycle_state(ma1: np.ndarray, ma2: np.ndarray, ma3: np.ndarray) -> np.ndarray:
    """The second cycle's looser orders: +1 for m1>m3>m2, m1>m2>m3 or m2>m1>m3; -1 for m3>m2>m1, m2>m3>m1 or
    m3>m1>m2; else 0."""
    with np.errstate(invalid="ignore"):
        bull = ((ma1 > ma3) & (ma3 > ma2)) | ((ma1 > ma2) & (ma2 > ma3)) | ((ma2 > ma1) & (ma1 > ma3))
        bear = ((ma3 > ma2) & (ma2 > ma1)) | ((ma2 > ma3) & (ma3 > ma1)) | ((ma3 > ma1) & (ma1 > ma2))
    return bull.astype(np.int8) - bear.astype(np.int8)


def bb_state(close, length: int = 15, mult: float = 1.5, ma_length: int = 100, long_length: int = 60) -> np.ndarray:
    """The seed's BB_State (seed-hyperrsi-detail.md §2.1): +2 expansion up, -2 expansion down, -1 squeeze, 0.

    BBW = (upper-lower)*10/basis and BBR = (close-lower)/(upper-lower) of a `length`-bar band (population
    deviation, `mult` wide); BBW_MA = SMA(BBW, ma_length), undefined until that many bandwidths exist. Pivot
    highs (20 left, 10 right) of BBW standing above BBW_MA go into a FIFO of 50, ph_avg = their mean (max(BBW, 5)
    before the first), buzz = 0.7 ph_avg; pivot lows below BBW_MA likewise give pl_avg (min(BBW, 5) before the
    first), squeeze = pl_avg / 0.7. The long band (`long_length` bars): pivot lows (30 left, 10 right) of its
    width BBW2 below 1 give squeeze2 = mean / 0.7 (min(BBW2, 5) / 0.7 before the first); the latch sq2 starts
    true, turns false when BBW2 > squeeze2 and true when BBW2 < squeeze2.
    Each bar starts from the previous state and applies, in order: (1) BBW crosses over buzz -> +2 if BBR > 0.5
    else -2; (2) BBW < squeeze with sq2 -> -1; (3) +2 with BBR < 0.2 -> -2, -2 with BBR > 0.8 -> +2; (4) ±2 with
    BBW falling three bars in a row (w < w[1] < w[2] < w[3]) -> 0; (5) -1 with BBW > pl_avg and rising -> 0.
    A pivot is known `right` bars after it (no lookahead); NaN bandwidths (the warm-up) fire no rule.
    """
    if min(length, ma_length, long_length) < 2:
        raise ValueError("bb_state lengths must be at least 2")
    c = np.ascontiguousarray(close, dtype=np.float64)
    return kernels.bb_state(c, int(length), float(mult), int(ma_length), int(long_length), 20, 10, 50, 30)


def _cycle(close: np.ndarray, lengths: tuple[int, int, int], kind: str) -> np.ndarray:
    ma = jma if kind == "JMA" else t3_seeded
    return cycle_state(*(rational_quadratic(ma(close, k)) for k in lengths))


def _second_cycle(close: np.ndarray) -> np.ndarray:
    return second_cycle_state(*(vidya(close, k, 9) for k in (3, 9, 21)))


def trend_inputs(candles: Candles, timeframe: str, use_longer_trend: bool = False,
                 custom_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(cycle, BB_State) per chart candle, each from the last candle of its own timeframe closed by then.

    cycle is +1 bull / -1 bear / 0 from the MAs on `cycle_timeframe` (with use_longer_trend, and-ed with the
    second cycle on 4h: +1 only if both are bull, -1 only if both are bear); BB_State from `bb_timeframe`.
    """
    if len(candles) == 0:
        return np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int8)
    lengths, kind = cycle_lengths(use_longer_trend, custom_length)
    cyc = _on_chart(candles, timeframe, cycle_timeframe(timeframe), lambda c: _cycle(c, lengths, kind))
    if use_longer_trend:
        cyc2 = _on_chart(candles, timeframe, _at_least(timeframe, SECOND_CYCLE_MINUTES), _second_cycle)
        cyc = np.where(cyc == cyc2, cyc, 0).astype(np.int8)
    bb = _on_chart(candles, timeframe, bb_timeframe(timeframe), bb_state)
    return np.ascontiguousarray(cyc, dtype=np.int8), np.ascontiguousarray(bb, dtype=np.int8)


def trend_state(candles: Candles, timeframe: str, use_longer_trend: bool = False,
                custom_length: int | None = None) -> np.ndarray:
    """HYPERRSI's trend filter per chart candle, in {-2, 0, +2} (seed-hyperrsi-detail.md §2.1).

    The latch runs on chart candles over `trend_inputs`, first rule that fires: bull cycle and (use_longer_trend
    or BB_State == +2) -> +2; else +2 without a bull cycle -> 0; else bear cycle and (use_longer_trend or
    BB_State == -2) -> -2; else -2 without a bear cycle -> 0; else hold. With fewer than 200 chart candles of
    history: 0. Departures from the seed: a higher-timeframe value counts only once its candle has closed
    (the seed read the still-open one), and one code path for live and backtest.
    """
    n = len(candles)
    if n < MIN_HISTORY:
        return np.zeros(n, dtype=np.int8)
    cyc, bb = trend_inputs(candles, timeframe, use_longer_trend, custom_length)
    out = kernels.persist(cyc, bb, bool(use_longer_trend))
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
