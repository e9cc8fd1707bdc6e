"""Per-candle strategy inputs computed once per (candles, indicator parameters) and shared by every bot using them.

Interim: computed here with engine.indicators/trend/smoothing until engine.strategy_inputs lands; then these
functions delegate to it so live and backtest read the very same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine import indicators as ind
from engine.candles import Candles
from engine.smoothing import er_adaptive
from engine.strategies.grid import GridCandle, GridSettings
from engine.strategies.hyperrsi import CandleInputs, HyperRsiSettings
from engine.trend import adx_state, trend_state

HYPERRSI_WARMUP = 600
GRID_WARMUP = 300


def warmup(settings: HyperRsiSettings | GridSettings) -> int:
    """How many closed candles the inputs of the last one need."""
    return HYPERRSI_WARMUP if isinstance(settings, HyperRsiSettings) else GRID_WARMUP


def params_key(settings: HyperRsiSettings | GridSettings) -> tuple:
    """Bots whose settings give the same key share one indicator computation."""
    if isinstance(settings, HyperRsiSettings):
        return ("hyperrsi", settings.rsi_period, settings.timeframe)
    return ("grid", settings.timeframe, settings.fama_length, settings.atr_length, settings.adx_threshold)


@dataclass(frozen=True, slots=True)
class HyperRsiSeries:
    candles: Candles
    rsi: np.ndarray
    atr: np.ndarray
    trend: np.ndarray

    def at(self, i: int) -> CandleInputs:
        c = self.candles
        i = i % len(c)
        prev = float(self.rsi[i - 1]) if i > 0 else math.nan
        return CandleInputs(i, float(c.open[i]), float(c.high[i]), float(c.low[i]), float(c.close[i]),
                            float(self.rsi[i]), prev, float(self.atr[i]), int(self.trend[i]))


@dataclass(frozen=True, slots=True)
class GridSeries:
    candles: Candles
    centre: np.ndarray
    atr: np.ndarray
    adx: np.ndarray

    def at(self, i: int) -> GridCandle:
        c = self.candles
        i = i % len(c)
        return GridCandle(i, float(c.high[i]), float(c.low[i]), float(c.close[i]), float(self.centre[i]),
                          float(self.atr[i]), int(self.adx[i]))


def hyperrsi_inputs(settings: HyperRsiSettings, candles: Candles) -> HyperRsiSeries:
    return HyperRsiSeries(candles, ind.rsi(candles.close, settings.rsi_period),
                          ind.atr(candles.high, candles.low, candles.close, 14),
                          trend_state(candles, settings.timeframe))


def grid_inputs(settings: GridSettings, candles: Candles) -> GridSeries:
    if len(candles) < 2:
        nan = np.full(len(candles), np.nan)
        return GridSeries(candles, nan, nan, np.zeros(len(candles), dtype=np.int8))
    _, fama = er_adaptive(candles.close, settings.fama_length)
    atr = ind.atr(candles.high, candles.low, candles.close, settings.atr_length)
    adx = adx_state(candles.high, candles.low, candles.close, threshold=settings.adx_threshold)
    return GridSeries(candles, fama, atr, adx)


def with_index(inputs, index: int):
    """The inputs renumbered with an absolute candle index (open time // timeframe), stable across restarts."""
    return replace(inputs, index=index)
