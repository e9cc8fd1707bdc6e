"""HYPERRSI entry signals and trend gating (seed §1–2), on plain floats."""

from __future__ import annotations

import math

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
