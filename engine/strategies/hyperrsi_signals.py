"""HYPERRSI entry signals and trend gating (seed §1–2): on plain floats for a candle, and vectorised over candles
(the backtest's event search), each condition written next to its scalar form; a test keeps them equal."""

from __future__ import annotations

import math

import numpy as np

from engine.strategies.hyperrsi_settings import HyperRsiSettings


def _long(mode: str, p: float, r: float, lo: float) -> bool:
    if mode == "threshold":
        return r < lo
    if mode == "cross":  # crossing into the zone
        return p > lo and r <= lo
    if mode == "cross_back":  # leaving the zone upward
        return p < lo and r >= lo
    return (p < lo or r < lo) and r > p  # turn


def _short(mode: str, p: float, r: float, hi: float) -> bool:
    if mode == "threshold":
        return r > hi
    if mode == "cross":
        return p < hi and r >= hi
    if mode == "cross_back":
        return p > hi and r <= hi
    return (p > hi or r > hi) and r < p


def side_signal(settings: HyperRsiSettings, side: str, p: float, r: float) -> bool:
    """Whether the RSI condition for `side` ('long' or 'short') holds; NaN RSI never signals."""
    if math.isnan(r) or (math.isnan(p) and settings.rsi_entry_option != "threshold"):
        return False
    if side == "long":
        return _long(settings.rsi_entry_option, p, r, settings.rsi_oversold)
    return _short(settings.rsi_entry_option, p, r, settings.rsi_overbought)


def entry_signal(settings: HyperRsiSettings, p: float, r: float) -> str | None:
    """'long', 'short' or None for the RSI pair (previous, last closed); with `both` the long check runs first."""
    for side in ("long", "short"):
        if settings.direction in (side, "both") and side_signal(settings, side, p, r):
            return side
    return None


def trend_allows(side: str, trend_state: int) -> bool:
    """A long is blocked only in a strong downtrend (-2), a short only in a strong uptrend (+2)."""
    return not ((side == "long" and trend_state == -2) or (side == "short" and trend_state == 2))


def trend_closes(side: str, trend_state: int) -> bool:
    """A strong trend against the position (-2 for a long, +2 for a short) closes it (when use_trend_close)."""
    return trend_state == (-2 if side == "long" else 2)


def side_signals(settings: HyperRsiSettings, prev: np.ndarray, r: np.ndarray,
                 slack: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """`side_signal` for every candle: (long, short) masks. With `slack` each threshold is widened by it, a
    superset (a candle that nearly qualifies is included, for the strategy to decide)."""
    lo, hi, mode, e = settings.rsi_oversold, settings.rsi_overbought, settings.rsi_entry_option, slack
    with np.errstate(invalid="ignore"):
        if mode == "threshold":
            return r < lo + e, r > hi - e
        if mode == "cross":
            return (prev > lo - e) & (r <= lo + e), (prev < hi + e) & (r >= hi - e)
        if mode == "cross_back":
            return (prev < lo + e) & (r >= lo - e), (prev > hi - e) & (r <= hi + e)
        return ((prev < lo + e) | (r < lo + e)) & (r > prev - e), ((prev > hi - e) | (r > hi - e)) & (r < prev + e)


def trend_allows_all(side: str, trend: np.ndarray) -> np.ndarray:
    """`trend_allows` for every candle."""
    return trend != (-2 if side == "long" else 2)


def entry_mask(settings: HyperRsiSettings, prev: np.ndarray, r: np.ndarray, trend: np.ndarray,
               slack: float = 0.0) -> np.ndarray:
    """Candles where a flat bot opens (its signal, in an allowed direction, not blocked by the trend filter when
    entry_option is rsi_trend: a blocked signal is only a note)."""
    long, short = side_signals(settings, prev, r, slack)
    gated = settings.entry_option == "rsi_trend"
    entry = np.zeros(len(r), dtype=bool)
    for side, sig in (("long", long), ("short", short)):
        if settings.direction in (side, "both"):
            entry |= sig & trend_allows_all(side, trend) if gated else sig
    return entry


def add_mask(settings: HyperRsiSettings, side: str, signal: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Candles where the RSI and trend conditions of a pyramiding add on `side` hold (`signal`: that side's
    `side_signals` mask); the price level is the position's, checked by the caller."""
    ok = signal.copy() if settings.use_rsi_with_pyramiding else np.ones(len(signal), dtype=bool)
    if settings.use_trend_logic:
        ok &= trend_allows_all(side, trend)
    return ok


def trend_close_mask(side: str, trend: np.ndarray) -> np.ndarray:
    """`trend_closes` for every candle."""
    return trend == (-2 if side == "long" else 2)
