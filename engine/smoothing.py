"""Smoothers the seed strategies need and TA-Lib lacks (JMA, ER-adaptive MAMA/FAMA, VIDYA, RQ kernel), vectorised."""

from __future__ import annotations

import numpy as np
import talib
from scipy.signal import lfilter, lfiltic


def _arr(x) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError("input must be a one-dimensional array")
    return a


def linear_scan(a: np.ndarray, b: np.ndarray, y0: float, block: int = 16) -> np.ndarray:
    """y_t = a_t * y_{t-1} + b_t with y_{-1} = y0, for time-varying a, without a Python loop per element.

    The series is cut into `block`-long pieces laid side by side: one pass over the block length computes
    every piece's zero-start response and running product of `a` at once, and the pieces' carries are a
    scan `block` times shorter, solved the same way. Python does ~block * log_block(n) steps.
    """
    n = len(a)
    if n <= 4 * block:
        out = np.empty(n)
        y = y0
        for i in range(n):
            y = a[i] * y + b[i]
            out[i] = y
        return out
    m = -(-n // block)
    pad = m * block - n
    P = np.concatenate([a, np.ones(pad)]).reshape(m, block).T.copy()  # row j = position j of every piece
    Z = np.concatenate([b, np.zeros(pad)]).reshape(m, block).T.copy()
    for j in range(1, block):
        Z[j] += P[j] * Z[j - 1]  # uses a_j before the next line turns row j into a running product
        P[j] *= P[j - 1]
    ends = linear_scan(P[-1].copy(), Z[-1].copy(), y0, block)
    starts = np.concatenate([[y0], ends[:-1]])
    Z += P * starts
    return Z.T.reshape(-1)[:n]


def ema_first_seeded(x: np.ndarray, alpha: float) -> np.ndarray:
    """EMA seeded with the first value (pandas ewm(adjust=False)): y_0 = x_0, y_t = a x_t + (1-a) y_{t-1}."""
    x = _arr(x)
    if len(x) == 0:
        return x.copy()
    return lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * x[0]])[0]


def jma(x, length: int = 5, phase: float = 50, power: float = 2) -> np.ndarray:
    """Jurik-style moving average as the seed defines it; bars before `length` give the expanding mean.

    Recurrences (seed): e0 = (1-a)x + a e0'; e1 = (x-e0)(1-b) + b e1'; e2 = (e0 + pr e1 - j')(1-a)^2 + a^2 e2';
    j = e2 + j'. With e2 eliminated, j is a second-order linear filter of u = e0 + pr e1, so all three are
    lfilter calls. Seeded so that bar 0 holds e0 = x0, e1 = 0, e2 = 0, j = x0.
    """
    x = _arr(x)
    if length < 1:
        raise ValueError("length must be >= 1")
    if len(x) == 0:
        return x.copy()
    pr = 0.5 if phase < -100 else 2.5 if phase > 100 else phase / 100 + 1.5
    beta = 0.45 * (length - 1) / (0.45 * (length - 1) + 2)
    alpha = beta**power
    e0 = lfilter([1 - alpha], [1.0, -alpha], x, zi=[alpha * x[0]])[0]
    e1 = lfilter([1 - beta], [1.0, -beta], x - e0, zi=[0.0])[0]
    u = e0 + pr * e1
    c, d = (1 - alpha) ** 2, alpha**2
    den = [1.0, -(1 - c + d), d]
    out = lfilter([c], den, u, zi=lfiltic([c], den, y=[x[0], x[0]]))[0]
    k = min(length, len(x))
    out[:k] = np.cumsum(x[:k]) / np.arange(1, k + 1)
    return out


def t3(x, length: int = 5, a: float = 0.7) -> np.ndarray:
    """Tillson T3 (six chained EMAs, coefficients summing to 1) through TA-Lib: NaN for 6(length-1) bars."""
    return talib.T3(_arr(x), timeperiod=length, vfactor=a)


def _window_sum(v: np.ndarray, w: int) -> np.ndarray:
    """Sum of the last `w` values (fewer at the start)."""
    c = np.cumsum(v)
    out = c.copy()
    out[w:] -= c[:-w]
    return out


def vidya(x, length: int, cmo_window: int = 9) -> np.ndarray:
    """VIDYA as the seed: CMO over a fixed `cmo_window` of changes (fewer at the start; 1 when no movement),
    v_t = v_{t-1} + 2/(length+1) * CMO * (x_t - v_{t-1}), seeded with the first value."""
    x = _arr(x)
    if len(x) == 0:
        return x.copy()
    d = np.diff(x, prepend=x[0])
    up = _window_sum(np.maximum(d, 0), cmo_window)
    dn = _window_sum(np.maximum(-d, 0), cmo_window)
    tot = up + dn
    with np.errstate(invalid="ignore", divide="ignore"):
        cmo = np.where(tot > 0, np.abs(up - dn) / tot, 1.0)
    k = 2.0 / (length + 1) * cmo
    k[0] = 1.0  # v_0 = x_0
    return linear_scan(1.0 - k, k * x, 0.0)


def efficiency_ratio(x, length: int = 20) -> np.ndarray:
    """|x_t - x_{t-n}| / sum of |changes| over the last n bars; 0 before n bars or with no movement."""
    x = _arr(x)
    er = np.zeros(len(x))
    if len(x) <= length:
        return er
    move = np.abs(x[length:] - x[:-length])
    noise = _window_sum(np.abs(np.diff(x, prepend=x[0])), length)[length:]
    with np.errstate(invalid="ignore", divide="ignore"):
        er[length:] = np.where(noise > 0, move / noise, 0.0)
    return er


def er_adaptive(x, length: int = 20, span: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(mama, fama) exactly as the seed computes them: ER-adaptive averages, each then EMA(span), alpha 2/(span+1).

    mama_t = er x_t + (1-er) mama_{t-1}; fama_t = er/2 mama_t + (1-er/2) fama_{t-1}; mama_0 = fama_0 = x_0.
    """
    x = _arr(x)
    if len(x) == 0:
        return x.copy(), x.copy()
    er = efficiency_ratio(x, length)
    er[0] = 1.0  # makes bar 0 equal x_0 for both
    mama = linear_scan(1.0 - er, er * x, 0.0)
    h = er / 2
    h[0] = 1.0
    fama = linear_scan(1.0 - h, h * mama, 0.0)
    alpha = 2.0 / (span + 1)
    return ema_first_seeded(mama, alpha), ema_first_seeded(fama, alpha)


def rational_quadratic(x, lookback: float = 30, weight: float = 0.5, start: int = 5) -> np.ndarray:
    """Rational-quadratic kernel mean over lags 0..start+1: w(l) = (1 + l^2 / (2 weight lookback^2))^-weight.

    NaN inputs (and lags before the first bar) are skipped; a bar with no usable lag gives NaN.
    """
    x = _arr(x)
    lags = np.arange(start + 2)
    w = (1 + lags**2 / (2 * weight * lookback**2)) ** -weight
    ok = ~np.isnan(x)
    num = lfilter(w, [1.0], np.where(ok, x, 0.0))  # FIR over lags 0..start+1; zeros before bar 0
    den = lfilter(w, [1.0], ok.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)
