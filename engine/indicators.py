"""Standard indicators through TA-Lib itself: same values and warm-up (NaN) as TA-Lib, same-length output."""

from __future__ import annotations

import numpy as np
import talib


def _arr(x, name: str = "x") -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array")
    return a


def _period(period: int, minimum: int = 1) -> int:
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or not minimum <= period <= 100_000:
        raise ValueError(f"period must be an integer from {minimum} to 100000, got {period!r}")
    return int(period)


def _hlc(high, low, close) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, lo, c = _arr(high, "high"), _arr(low, "low"), _arr(close, "close")
    if not len(h) == len(lo) == len(c):
        raise ValueError("high, low and close must have the same length")
    return h, lo, c


def sma(x, period: int) -> np.ndarray:
    return talib.SMA(_arr(x), timeperiod=_period(period))


def ema(x, period: int) -> np.ndarray:
    return talib.EMA(_arr(x), timeperiod=_period(period))


def rsi(close, period: int = 14) -> np.ndarray:
    """Wilder RSI; TA-Lib gives 0.0 (not 50) on a flat window."""
    return talib.RSI(_arr(close, "close"), timeperiod=_period(period, 2))


def atr(high, low, close, period: int = 14) -> np.ndarray:
    return talib.ATR(*_hlc(high, low, close), timeperiod=_period(period))


def bollinger(close, period: int = 20, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower): SMA middle, population standard deviation, as TA-Lib's BBANDS."""
    if not k > 0:
        raise ValueError("k must be positive")
    return talib.BBANDS(_arr(close, "close"), timeperiod=_period(period, 2), nbdevup=k, nbdevdn=k, matype=0)


def adx(high, low, close, period: int = 14) -> np.ndarray:
    return talib.ADX(*_hlc(high, low, close), timeperiod=_period(period, 2))


def plus_di(high, low, close, period: int = 14) -> np.ndarray:
    return talib.PLUS_DI(*_hlc(high, low, close), timeperiod=_period(period))


def minus_di(high, low, close, period: int = 14) -> np.ndarray:
    return talib.MINUS_DI(*_hlc(high, low, close), timeperiod=_period(period))
