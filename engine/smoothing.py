"""Smoothers the seed strategies need and TA-Lib lacks (JMA, ER-adaptive MAMA/FAMA, VIDYA, seeded T3, RQ kernel)."""

from __future__ import annotations

import numpy as np
import talib

from engine import kernels


def _arr(x) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError("input must be a one-dimensional array")
    return a


def jma(x, length: int = 5, phase: float = 50, power: float = 2) -> np.ndarray:
    """Jurik-style moving average as the seed defines it; bars before `length` give the expanding mean.

    Recurrences (seed): e0 = (1-a)x + a e0'; e1 = (x-e0)(1-b) + b e1'; e2 = (e0 + pr e1 - j')(1-a)^2 + a^2 e2';
    j = e2 + j', seeded so that bar 0 holds e0 = x0, e1 = 0, e2 = 0, j = x0.
    """
    x = _arr(x)
    if length < 1:
        raise ValueError("length must be >= 1")
    if len(x) == 0:
        return x.copy()
    pr = 0.5 if phase < -100 else 2.5 if phase > 100 else phase / 100 + 1.5
    beta = 0.45 * (length - 1) / (0.45 * (length - 1) + 2)
    alpha = beta**power
    return kernels.jma(x, alpha, beta, pr, length)


def t3(x, length: int = 5, a: float = 0.7) -> np.ndarray:
    """Tillson T3 (six chained EMAs, coefficients summing to 1) through TA-Lib: NaN for 6(length-1) bars."""
    return talib.T3(_arr(x), timeperiod=length, vfactor=a)


def t3_seeded(x, length: int = 5, a: float = 0.7) -> np.ndarray:
    """T3 as the seed's live code computes it: six chained EMAs (alpha 2/(length+1)) each seeded with its input's
    first value, c1 e6 + c2 e5 + c3 e4 + c4 e3 with Tillson's coefficients; defined from bar 0."""
    x = _arr(x)
    if length < 1:
        raise ValueError("length must be >= 1")
    c1, c2 = -(a**3), 3 * a**2 + 3 * a**3
    c3, c4 = -6 * a**2 - 3 * a - 3 * a**3, 1 + 3 * a + a**3 + 3 * a**2
    return kernels.t3(x, 2.0 / (length + 1), c1, c2, c3, c4)


def vidya(x, length: int, cmo_window: int = 9) -> np.ndarray:
    """VIDYA as the seed: CMO over a fixed `cmo_window` of changes (fewer at the start; 1 when no movement),
    v_t = v_{t-1} + 2/(length+1) * CMO * (x_t - v_{t-1}), seeded with the first value."""
    x = _arr(x)
    if len(x) == 0:
        return x.copy()
    return kernels.vidya(x, int(length), int(cmo_window))


def efficiency_ratio(x, length: int = 20) -> np.ndarray:
    """|x_t - x_{t-n}| / sum of |changes| over the last n bars; 0 before n bars or with no movement."""
    if length < 1:
        raise ValueError("length must be >= 1")
    return kernels.efficiency_ratio(_arr(x), int(length))


def er_adaptive(x, length: int = 20, span: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(mama, fama) exactly as the seed computes them: ER-adaptive averages, each then EMA(span), alpha 2/(span+1).

    mama_t = er x_t + (1-er) mama_{t-1}; fama_t = er/2 mama_t + (1-er/2) fama_{t-1}; mama_0 = fama_0 = x_0.
    """
    x = _arr(x)
    if len(x) == 0:
        return x.copy(), x.copy()
    if length < 1:
        raise ValueError("length must be >= 1")
    return kernels.er_adaptive(x, int(length), 2.0 / (span + 1))


def rational_quadratic(x, lookback: float = 30, weight: float = 0.5, start: int = 5) -> np.ndarray:
    """Rational-quadratic kernel mean over lags 0..start+1: w(l) = (1 + l^2 / (2 weight lookback^2))^-weight.

    NaN inputs (and lags before the first bar) are skipped; a bar with no usable lag gives NaN.
    """
    x = _arr(x)
    lags = np.arange(start + 2)
    w = (1 + lags**2 / (2 * weight * lookback**2)) ** -weight
    return kernels.rational_quadratic(x, w)
