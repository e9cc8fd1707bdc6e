"""What the strategy steps need per closed candle, computed vectorised from settings and candles (pure, causal).

Live trading calls the same functions on the last `warmup(settings)` closed candles and uses the last row; the
backtester calls them once on the whole series. Values at bar i depend only on bars ≤ i. Recursive indicators
(Wilder RSI/ATR/ADX, FAMA, the trend state) depend a little on where the history starts, which is why live
fetches `warmup(settings)` candles. `index` is the candle's open time divided by the timeframe, so it counts
candles the same way live and in a backtest (cooldowns, re-centring) whatever the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import indicators as ind
from engine.candles import Candles, resample, timeframe_ms
from engine.smoothing import er_adaptive
from engine.strategies.grid import GridCandle, GridSettings
from engine.strategies.grid_ladder import MarketRules
from engine.strategies.hyperrsi import CandleInputs, HyperRsiSettings
from engine.trend import MIN_HISTORY, adx_state, bb_timeframe, cycle_timeframe, map_completed, trend_state

HYPERRSI_ATR = 14  # the seed's ATR length for ATR-based TP/SL/pyramiding
GRID_ADX_TIMEFRAME = "4h"  # the seed reads the ADX state on 4h candles
GRID_ADX_LEN = 28
# The trend filter and the ADX state are state machines that hold their state between events, so they forget
# where the history started only slowly. Measured on the shared BTC data (last row of a window vs the whole
# history, random bars): the MA cycle settles within 900 bars of its timeframe; BB_State, whose pivot means
# average the last 50 pivots, differs on 51 / 14 / 2 / 0 of 300 bars with 900 / 1,800 / 3,000 / 4,500 bars of
# its timeframe (the trend filter on 17 / 3 / 0 / 0); ADX state 10 / 0 with 220 / 440 four-hour bars.
TREND_HTF_BARS = 900
TREND_BB_BARS = 3000
GRID_ADX_BARS = 440
WILDER_SETTLE = 12  # periods after which a Wilder/EMA recursion has forgotten its seed (e^-12 ≈ 6e-6)


@dataclass(frozen=True, slots=True)
class HyperRsiInputs:
    """Per-candle arrays for HYPERRSI; `.at(i)` is what `hyperrsi.on_candle` takes for candle i."""

    index: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    rsi: np.ndarray
    rsi_prev: np.ndarray
    atr: np.ndarray
    trend_state: np.ndarray
    min_amount: float = 0.0
    min_cost: float = 0.0
    ready: int = 0  # first bar with RSI, previous RSI and ATR defined
    lot: float = 0.0

    def __len__(self) -> int:
        return len(self.close)

    def at(self, i: int) -> CandleInputs:
        return CandleInputs(int(self.index[i]), float(self.open[i]), float(self.high[i]), float(self.low[i]),
                            float(self.close[i]), float(self.rsi[i]), float(self.rsi_prev[i]), float(self.atr[i]),
                            int(self.trend_state[i]), self.min_amount, self.min_cost, self.lot)


@dataclass(frozen=True, slots=True)
class GridInputs:
    """Per-candle arrays for GRID; `.at(i)` is what `grid.on_candle` takes for candle i."""

    index: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    centre: np.ndarray  # FAMA of the closes
    atr: np.ndarray  # simple mean of the true range (the seed's grid ATR)
    adx_state: np.ndarray  # from the last closed ADX-timeframe candle
    ready: int = 0  # first bar with the ATR defined

    def __len__(self) -> int:
        return len(self.close)

    def at(self, i: int) -> GridCandle:
        return GridCandle(int(self.index[i]), float(self.high[i]), float(self.low[i]), float(self.close[i]),
                          float(self.centre[i]), float(self.atr[i]), int(self.adx_state[i]))


def _shift(x: np.ndarray) -> np.ndarray:
    return np.r_[np.nan, x[:-1]] if len(x) else x.copy()


def _first_finite(*arrays: np.ndarray) -> int:
    ok = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        ok &= np.isfinite(a)
    hit = np.flatnonzero(ok)
    return int(hit[0]) if len(hit) else len(ok)


def candle_index(candles: Candles, timeframe: str) -> np.ndarray:
    return candles.ts // timeframe_ms(timeframe)


def hyperrsi_inputs(settings: HyperRsiSettings, candles: Candles, timeframe: str | None = None,
                    rules: MarketRules | None = None) -> HyperRsiInputs:
    """RSI (and the previous bar's), ATR(14) and the trend filter state for every candle of `timeframe`
    (default: the settings' timeframe, which the candles must be on)."""
    tf = timeframe or settings.timeframe
    rules = rules or MarketRules()
    rsi = ind.rsi(candles.close, settings.rsi_period)
    atr = ind.atr(candles.high, candles.low, candles.close, HYPERRSI_ATR)
    prev = _shift(rsi)
    return HyperRsiInputs(candle_index(candles, tf), candles.open, candles.high, candles.low, candles.close, rsi,
                          prev, atr, trend_state(candles, tf), rules.min_amount, rules.min_cost,
                          _first_finite(rsi, prev, atr), rules.amount_step)


def true_range_mean(high: np.ndarray, low: np.ndarray, close: np.ndarray, length: int) -> np.ndarray:
    """Simple mean of the true range over `length` bars (TR_0 = high - low); NaN for the first length-1 bars."""
    pc = _shift(close)
    with np.errstate(invalid="ignore"):
        tr = np.fmax(high - low, np.fmax(np.abs(high - pc), np.abs(low - pc)))
    return ind.sma(tr, length)


def _adx_timeframe(timeframe: str) -> str:
    return GRID_ADX_TIMEFRAME if timeframe_ms(timeframe) < timeframe_ms(GRID_ADX_TIMEFRAME) else timeframe


def grid_adx_state(settings: GridSettings, candles: Candles, timeframe: str) -> np.ndarray:
    """The ADX state of the last ADX-timeframe candle closed by each candle's close (0 while unknown)."""
    n = len(candles)
    atf = _adx_timeframe(timeframe)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    if atf == timeframe:
        return adx_state(candles.high, candles.low, candles.close, GRID_ADX_LEN, GRID_ADX_LEN,
                         settings.adx_threshold)
    h = resample(candles, atf)
    ams, bms = timeframe_ms(atf), timeframe_ms(timeframe)
    h = h[: int((h.ts + ams <= candles.ts[-1] + bms).sum())]  # only buckets closed by the last candle
    if len(h) == 0:
        return np.zeros(n, dtype=np.int8)
    states = adx_state(h.high, h.low, h.close, GRID_ADX_LEN, GRID_ADX_LEN, settings.adx_threshold)
    return map_completed(candles.ts, bms, h.ts, ams, states).astype(np.int8)


def grid_inputs(settings: GridSettings, candles: Candles, timeframe: str | None = None) -> GridInputs:
    """FAMA centre, the grid ATR and the 4h ADX state for every candle of `timeframe` (default: the settings')."""
    tf = timeframe or settings.timeframe
    atr = true_range_mean(candles.high, candles.low, candles.close, settings.atr_length)
    centre = er_adaptive(candles.close, settings.fama_length)[1]
    adx = grid_adx_state(settings, candles, tf) if settings.adx_gate else np.zeros(len(candles), dtype=np.int8)
    return GridInputs(candle_index(candles, tf), candles.high, candles.low, candles.close, centre, atr, adx,
                      _first_finite(atr))


def _ratio(base: str, higher: str) -> int:
    return max(1, timeframe_ms(higher) // timeframe_ms(base))


def warmup(settings: HyperRsiSettings | GridSettings, timeframe: str | None = None) -> int:
    """Closed candles of history live trading must fetch so the last row equals a long-history computation."""
    tf = timeframe or settings.timeframe
    if isinstance(settings, HyperRsiSettings):
        rsi = WILDER_SETTLE * settings.rsi_period + 1
        atr = WILDER_SETTLE * HYPERRSI_ATR + 1
        cycle = _ratio(tf, cycle_timeframe(tf)) * TREND_HTF_BARS
        bb = _ratio(tf, bb_timeframe(tf)) * TREND_BB_BARS
        trend = max(MIN_HISTORY, cycle, bb)
        return max(rsi, atr, trend)
    fama = WILDER_SETTLE * settings.fama_length + 5 * WILDER_SETTLE
    need = max(fama, settings.atr_length)
    if settings.adx_gate:
        need = max(need, _ratio(tf, _adx_timeframe(tf)) * GRID_ADX_BARS)
    return need
