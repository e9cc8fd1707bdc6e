"""Compiled (numba) loops for the recursive smoothers and the trend state machines; one pass, no temporaries.

TA-Lib's SMA, PLUS_DI, MINUS_DI and ADX are re-done here with TA-Lib's own arithmetic, in TA-Lib's order of
operations, so that the fused state machines read the same numbers as `engine.indicators` gives (tests compare
them bit for bit). The Bollinger kernels (bands to ~1e-14 of TA-Lib, BB_State) live in `engine.kernels_bb`.
The state machines stream: a few ring buffers instead of full-length temporaries, because at a million bars
the page faults of each fresh array cost as much as the arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.kernels_bb import _ZERO, bb_state, bbands  # the Bollinger kernels belong to this set too


@njit(cache=True, nogil=True, error_model="numpy")
def jma(x, alpha, beta, pr, length):
    """The seed's JMA recurrences bar by bar; the first `length` bars hold the expanding mean."""
    n = len(x)
    out = np.empty(n)
    e0, e1, e2, j = x[0], 0.0, 0.0, x[0]
    c, d = (1 - alpha) ** 2, alpha**2
    out[0] = j
    for i in range(1, n):
        v = x[i]
        e0 = (1 - alpha) * v + alpha * e0
        e1 = (v - e0) * (1 - beta) + beta * e1
        e2 = (e0 + pr * e1 - j) * c + d * e2
        j = e2 + j
        out[i] = j
    s = 0.0
    for i in range(min(length, n)):
        s += x[i]
        out[i] = s / (i + 1)
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _er(x, t, length, noise, since):
    """Efficiency ratio at t >= length: |x_t - x_{t-n}| / the sum of |changes| over the last n bars (0 when
    nothing moved). The sum slides from bar to bar and is taken afresh every n bars (`since` counts the bars
    since then), so that rounding cannot pile up. Returns (ratio, noise, since)."""
    if since == 0:
        noise = 0.0
        for j in range(t - length + 1, t + 1):
            noise += abs(x[j] - x[j - 1])
    else:
        noise += abs(x[t] - x[t - 1]) - abs(x[t - length] - x[t - length - 1])
    since = since + 1 if since + 1 < length else 0
    return (abs(x[t] - x[t - length]) / noise if noise > 0 else 0.0), noise, since


@njit(cache=True, nogil=True, error_model="numpy")
def efficiency_ratio(x, length):
    """The efficiency ratio per bar; 0 before `length` bars."""
    n = len(x)
    er = np.zeros(n)
    noise, since = 0.0, 0
    for t in range(length, n):
        er[t], noise, since = _er(x, t, length, noise, since)
    return er


@njit(cache=True, nogil=True, error_model="numpy")
def er_adaptive(x, length, alpha):
    """MAMA/FAMA adapted by the efficiency ratio, each then EMA-smoothed (first-value seeded) by `alpha`."""
    n = len(x)
    mama_s, fama_s = np.empty(n), np.empty(n)
    mama = fama = ms = fs = x[0]
    mama_s[0] = fama_s[0] = x[0]
    noise, since = 0.0, 0
    for i in range(1, n):
        e = 0.0
        if i >= length:
            e, noise, since = _er(x, i, length, noise, since)
        mama = e * x[i] + (1 - e) * mama
        fama = e / 2 * mama + (1 - e / 2) * fama
        ms = alpha * mama + (1 - alpha) * ms
        fs = alpha * fama + (1 - alpha) * fs
        mama_s[i], fama_s[i] = ms, fs
    return mama_s, fama_s


@njit(cache=True, nogil=True, error_model="numpy")
def vidya(x, length, window):
    """VIDYA with the CMO of the last `window` changes (fewer at the start; 1 when nothing moved). The sums are
    taken afresh each bar: running sums would leave a rounding residue where a flat window must give 0."""
    n = len(x)
    out = np.empty(n)
    k = 2.0 / (length + 1)
    v = x[0]
    out[0] = v
    for t in range(1, n):
        up = dn = 0.0
        for j in range(max(1, t - window + 1), t + 1):
            d = x[j] - x[j - 1]
            up += max(d, 0.0)
            dn += max(-d, 0.0)
        tot = up + dn
        cmo = abs(up - dn) / tot if tot > 0 else 1.0
        v = v + k * cmo * (x[t] - v)
        out[t] = v
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def sma(x, period):
    """TA-Lib's SMA: a running sum, NaN for the first period-1 bars."""
    n = len(x)
    out = np.full(n, np.nan)
    if n < period:
        return out
    total = 0.0
    for i in range(period - 1):
        total += x[i]
    for i in range(period - 1, n):
        total += x[i]
        tmp = total
        total -= x[i - period + 1]
        out[i] = tmp / float(period)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rational_quadratic(x, w):
    """Weighted mean of x over lags 0..len(w)-1 with weights w, skipping NaN and lags before bar 0."""
    n = len(x)
    out = np.empty(n)
    for i in range(n):
        num = den = 0.0
        for lag in range(min(len(w), i + 1)):
            v = x[i - lag]
            if not math.isnan(v):
                num += w[lag] * v
                den += w[lag]
        out[i] = num / den if den > 0 else np.nan
    return out




@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _true_range(h, lo, prev_close):
    tr = h - lo
    a = abs(h - prev_close)
    if a > tr:
        tr = a
    a = abs(lo - prev_close)
    if a > tr:
        tr = a
    return tr


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _dmi_step(h, lo, c, i, period, p_dm, m_dm, tr, sum_dx, adx):
    """Bar i (>= 1) of TA-Lib's PLUS_DI / MINUS_DI / ADX, in TA-Lib's order of operations.
    Returns (+DI, -DI, ADX, state...); NaN where TA-Lib has no output yet."""
    pf = float(period)  # dividing by a float the compiler can see is much faster than by a converted int
    diff_p, diff_m = h[i] - h[i - 1], lo[i - 1] - lo[i]
    if i >= period:
        p_dm -= p_dm / pf
        m_dm -= m_dm / pf
    # adding 0.0 leaves the sum bit-identical to TA-Lib's if/else if, without unpredictable branches
    m_dm += diff_m if (diff_m > 0) & (diff_p < diff_m) else 0.0
    p_dm += diff_p if (diff_p > 0) & (diff_p > diff_m) else 0.0
    r = _true_range(h[i], lo[i], c[i - 1])
    tr = tr - tr / pf + r if i >= period else tr + r
    if i < period:
        return np.nan, np.nan, np.nan, p_dm, m_dm, tr, sum_dx, adx
    dx = -1.0  # none: TA-Lib skips the bar in the ADX average
    if -_ZERO < tr < _ZERO:
        plus = minus = 0.0
    else:
        minus, plus = 100.0 * (m_dm / tr), 100.0 * (p_dm / tr)
        s = minus + plus
        if not (-_ZERO < s < _ZERO):
            dx = 100.0 * (abs(minus - plus) / s)
    if i < 2 * period - 1:
        if dx >= 0:
            sum_dx += dx
        return plus, minus, np.nan, p_dm, m_dm, tr, sum_dx, adx
    if i == 2 * period - 1:
        if dx >= 0:
            sum_dx += dx
        adx = sum_dx / pf
    elif dx >= 0:
        adx = ((adx * (pf - 1)) + dx) / pf
    return plus, minus, adx, p_dm, m_dm, tr, sum_dx, adx


@njit(cache=True, nogil=True, error_model="numpy")
def dmi(h, lo, c, period):
    """(+DI, -DI, ADX) exactly as TA-Lib's PLUS_DI / MINUS_DI / ADX (Wilder smoothing of DM and TR)."""
    n = len(c)
    pdi, mdi, adx = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    p_dm = m_dm = tr = sum_dx = a = 0.0
    for i in range(1, n):
        pdi[i], mdi[i], adx[i], p_dm, m_dm, tr, sum_dx, a = _dmi_step(h, lo, c, i, period, p_dm, m_dm, tr, sum_dx, a)
    return pdi, mdi, adx


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _extremes(h, lo, i, w, since, suf_h, suf_l, pre_h, pre_l):
    """Highest high and lowest low of the w bars ending at i (van Herk / Gil-Werman: suffix extremes of the
    previous block of w bars, prefix extremes of the current one; no data-dependent branches).
    `since` is i's offset in its block. Returns (hh, ll, pre_h, pre_l); NaN before w bars."""
    if since == 0:
        if i >= w:  # the block that just ended: its suffix extremes
            suf_h[w - 1], suf_l[w - 1] = h[i - 1], lo[i - 1]
            for k in range(w - 2, -1, -1):
                suf_h[k] = max(suf_h[k + 1], h[i - w + k])
                suf_l[k] = min(suf_l[k + 1], lo[i - w + k])
        pre_h, pre_l = h[i], lo[i]
    else:
        pre_h, pre_l = max(pre_h, h[i]), min(pre_l, lo[i])
    if i < w - 1:
        return np.nan, np.nan, pre_h, pre_l
    if since == w - 1:
        return pre_h, pre_l, pre_h, pre_l
    return max(suf_h[since + 1], pre_h), min(suf_l[since + 1], pre_l), pre_h, pre_l


@njit(cache=True, nogil=True, error_model="numpy")
def adx_state(h, lo, c, period, threshold):
    """GRID's ADX state machine fused with the DI/ADX pass and 50-bar extremes, streaming; see
    `engine.trend.adx_state` for the rules."""
    n = len(c)
    out = np.zeros(n, dtype=np.int8)
    suf_h, suf_l = np.empty(50), np.empty(50)
    pre_h = pre_l = 0.0
    since = 0
    p_dm = m_dm = tr = sum_dx = adx = 0.0
    a1 = a2 = a3 = p1 = m1 = np.nan
    state = 0
    for i in range(n):
        hh, ll, pre_h, pre_l = _extremes(h, lo, i, 50, since, suf_h, suf_l, pre_h, pre_l)
        since = since + 1 if since < 49 else 0
        pdi = mdi = a0 = np.nan
        if i >= 1:
            pdi, mdi, a0, p_dm, m_dm, tr, sum_dx, adx = _dmi_step(h, lo, c, i, period, p_dm, m_dm, tr, sum_dx, adx)
        reset = (a0 < threshold and a1 >= threshold) or (a0 < a1 and a1 < a2 and a2 < a3 and a0 > threshold)
        if (state != 0 and reset) or (state == -2 and c[i] >= 1.1 * ll) or (state == 2 and c[i] <= 0.9 * hh):
            state = 0
        elif state == 0 and pdi > mdi and p1 <= m1:
            state = 1
        elif state == 0 and mdi > pdi and m1 <= p1:
            state = -1
        elif (state == 1 or state == -1) and a0 > a1 and a1 > a2:
            state = 2 * state
        out[i] = state
        a1, a2, a3, p1, m1 = a0, a1, a2, pdi, mdi
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def t3(x, alpha, c1, c2, c3, c4):
    """T3: c1 e6 + c2 e5 + c3 e4 + c4 e3 of six chained EMAs (smoothing factor alpha), each seeded with its
    input's first value, as the seed's live code (TA-Lib's T3 seeds with means and is NaN for 6 (length-1) bars)."""
    n = len(x)
    out = np.empty(n)
    if n == 0:
        return out
    e1 = e2 = e3 = e4 = e5 = e6 = x[0]
    a, b = alpha, 1 - alpha
    out[0] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3
    for i in range(1, n):
        e1 = a * x[i] + b * e1
        e2 = a * e1 + b * e2
        e3 = a * e2 + b * e3
        e4 = a * e3 + b * e4
        e5 = a * e4 + b * e5
        e6 = a * e5 + b * e6
        out[i] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def persist(cyc, bb, longer):
    """HYPERRSI's latched trend state (seed §2.1), per bar, first rule that fires: a bull cycle with BB +2 (or
    `longer`) -> +2; else +2 without a bull cycle -> 0; else a bear cycle with BB -2 (or `longer`) -> -2; else -2
    without a bear cycle -> 0; else the state holds. So +2 falls to 0 for a bar before it can turn -2."""
    n = len(cyc)
    out = np.zeros(n, dtype=np.int8)
    state = 0
    for i in range(n):
        bull, bear = cyc[i] == 1, cyc[i] == -1
        if bull and (longer or bb[i] == 2):
            state = 2
        elif state == 2 and not bull:
            state = 0
        elif bear and (longer or bb[i] == -2):
            state = -2
        elif state == -2 and not bear:
            state = 0
        out[i] = state
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def map_closed(base_ts, base_ms, htf_ts, htf_ms, values, fill):
    """For each base candle (ascending), the value of the last higher candle closed by its close, else `fill`."""
    n, m = len(base_ts), len(htf_ts)
    out = np.empty(n, dtype=values.dtype)
    j = -1
    for i in range(n):
        close = base_ts[i] + base_ms
        while j + 1 < m and htf_ts[j + 1] + htf_ms <= close:
            j += 1
        out[i] = values[j] if j >= 0 else fill
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _bucket_count(ts, step):
    """How many `step`-ms buckets aligned to the epoch ascending candles fall into."""
    m, end = 0, ts[0] - 1
    for i in range(len(ts)):
        if ts[i] >= end:
            m += 1
            end = ts[i] - ts[i] % step + step
    return m


@njit(cache=True, nogil=True, error_model="numpy")
def resample_close(ts, c, step):
    """(open time, last close) of the `step`-ms buckets of `resample`, for what reads closes only."""
    n = len(ts)
    m = _bucket_count(ts, step)
    rts, rc = np.empty(m, dtype=np.int64), np.empty(m)
    k, end = -1, ts[0] - 1
    for i in range(n):
        if ts[i] >= end:
            k += 1
            rts[k] = ts[i] - ts[i] % step
            end = rts[k] + step
        rc[k] = c[i]
    return rts, rc


@njit(cache=True, nogil=True, error_model="numpy")
def resample(ts, o, h, lo, c, v, step):
    """OHLCV buckets of `step` ms aligned to the epoch from ascending candles, in one pass after counting them
    (see engine.candles.resample); a bucket's bounds are worked out only when a candle leaves the last one."""
    n = len(ts)
    m = _bucket_count(ts, step)
    rts = np.empty(m, dtype=np.int64)
    ro, rh, rl, rc, rv = np.empty(m), np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    k, end = -1, ts[0] - 1
    for i in range(n):
        if ts[i] >= end:
            k += 1
            rts[k] = ts[i] - ts[i] % step
            end = rts[k] + step
            ro[k], rh[k], rl[k], rv[k] = o[i], h[i], lo[i], v[i]
        else:
            rh[k] = max(rh[k], h[i])
            rl[k] = min(rl[k], lo[i])
            rv[k] += v[i]
        rc[k] = c[i]
    return rts, ro, rh, rl, rc, rv


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel now, so that the first candle close does not stall the
    event loop for seconds; run it in a worker thread at start-up."""
    x = np.linspace(100.0, 110.0, 300)
    h, lo = x + 1.0, x - 1.0
    ts = np.arange(300, dtype=np.int64) * 60_000
    jma(x, 0.1, 0.3, 2.0, 5)
    efficiency_ratio(x, 20)
    er_adaptive(x, 20, 1 / 3)
    vidya(x, 20, 9)
    rational_quadratic(x, np.ones(7))
    bbands(x, 20, 2.0)
    bb_state(x, 15, 1.5, 100, 60, 20, 10, 50, 30)
    t3(x, 2 / 6, -0.343, 2.499, -6.069, 4.913)
    dmi(h, lo, x, 14)
    adx_state(h, lo, x, 28, 20.0)
    persist(np.zeros(300, dtype=np.int8), np.zeros(300, dtype=np.int8), False)
    map_closed(ts, 60_000, ts[::15], 900_000, np.zeros(20, dtype=np.int8), np.int8(0))
    map_closed(ts, 60_000, ts[::15], 900_000, np.zeros(20), np.nan)
    resample(ts, x, h, lo, x, x, 900_000)
    resample_close(ts, x, 900_000)
