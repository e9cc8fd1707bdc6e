"""Compiled (numba) Bollinger kernels: the bands and the BB_State machine, which share their running sums.

Streams over blocks of bars with a few ring buffers instead of full-length temporaries, because at a million bars
the page faults of each fresh array cost as much as the arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_ZERO = 1e-14  # TA-Lib's TA_IS_ZERO band
_STATES = np.array([0, -1, 2, -2], dtype=np.int8)  # bb_state's states by index

@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _band_sums(c, i, p, total, anchor, s1, s2, since):
    """Slide a Bollinger band's sums to bar i: TA-Lib's running sum for the SMA (`window` = the sum TA-Lib divides)
    and sums of deviations from an anchor re-based every p bars (`since` counts the bars since), small and
    exact at any price level. Returns (window, total, anchor, s1, s2, since); window is NaN in the warm-up."""
    total += c[i]
    if i < p - 1:
        return np.nan, total, anchor, s1, s2, since
    window = total
    start = np.uint64(i - p + 1)  # >= 0 from here on; an unsigned index skips the negative-index wraparound
    total -= c[start]
    if since == 0:
        anchor, s1, s2 = c[start], 0.0, 0.0
        for j in range(p):
            d = c[start + np.uint64(j)] - anchor
            s1 += d
            s2 += d * d
    else:  # a re-base at an earlier bar >= p - 1: i - p >= 0
        d_in, d_out = c[i] - anchor, c[start - np.uint64(1)] - anchor
        s1 += d_in - d_out
        s2 += d_in * d_in - d_out * d_out
    since = since + 1 if since + 1 < p else 0
    return window, total, anchor, s1, s2, since


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _band(window, s1, s2, p, k):
    """(middle, k deviations) of a band from its sums; TA-Lib's guard gives 0 for a (near-)zero variance."""
    pf = float(p)
    inv = 1.0 / pf
    var = (s2 - s1 * s1 * inv) * inv
    return window / pf, (math.sqrt(var) * k if var >= _ZERO else 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def bbands(x, period, k):
    """Bollinger bands (SMA middle, population deviation) equal to TA-Lib's BBANDS(SMA, k, k) to ~1e-14 relative
    (TA-Lib's exact summation is not reproducible; this one is closer to a two-pass deviation than TA-Lib's)."""
    n = len(x)
    up, mid, lo = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    total = anchor = s1 = s2 = 0.0
    since = 0
    for i in range(n):
        window, total, anchor, s1, s2, since = _band_sums(x, i, period, total, anchor, s1, s2, since)
        if i >= period - 1:
            m, dev = _band(window, s1, s2, period, k)
            up[i], mid[i], lo[i] = m + dev, m, m - dev
    return up, mid, lo


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _beyond(u, v, high, strict):
    """Whether the neighbour value u keeps v from being a pivot (NaN neighbours never do)."""
    if high:
        return u >= v if strict else u > v
    return u <= v if strict else u < v


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pivot(buf, i, left, right, high):
    """Pine's pivot at buf[i]: strictly beyond the non-NaN left bars, at least as far as the non-NaN right ones,
    with at least one non-NaN bar on each side."""
    v = buf[i]
    if math.isnan(v):
        return False
    seen = False
    for j in range(i - left, i):
        u = buf[j]
        if not math.isnan(u):
            seen = True
            if _beyond(u, v, high, True):
                return False
    if not seen:
        return False
    seen = False
    for j in range(i + 1, i + right + 1):
        u = buf[j]
        if not math.isnan(u):
            seen = True
            if _beyond(u, v, high, False):
                return False
    return seen


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pivot_no_nan(buf, i, left, right, high):
    """`_pivot` where the window is known to hold no NaN."""
    v = buf[i]
    for j in range(i - left, i):
        if _beyond(buf[j], v, high, True):
            return False
    for j in range(i + 1, i + right + 1):  # noqa: SIM110 - numba compiles no generator inside all()
        if _beyond(buf[j], v, high, False):
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _remember(hist, count, value):
    """Keep `value` among the last len(hist) pivots; returns (their mean, the new count)."""
    keep = len(hist)
    hist[count % keep] = value  # rare: only on pivot bars
    count += 1
    m = min(count, keep)
    return hist[:m].sum() / m, count


@njit(cache=True, nogil=True, error_model="numpy")
def _block_sums(c, b0, m, p1, p2, st, win1, s11b, s21b, win2, s12b, s22b):
    """`_band_sums` of two bands for bars b0..b0+m-1, the running state in st (total, anchor, s1, s2, since per
    band). A function of its own so that the serial sums get the registers to themselves."""
    t1, a1, s11, s21, k1 = st[0], st[1], st[2], st[3], int(st[4])
    t2, a2, s12, s22, k2 = st[5], st[6], st[7], st[8], int(st[9])
    for r in range(m):
        win, t1, a1, s11, s21, k1 = _band_sums(c, b0 + r, p1, t1, a1, s11, s21, k1)
        win1[r], s11b[r], s21b[r] = win, s11, s21
        win, t2, a2, s12, s22, k2 = _band_sums(c, b0 + r, p2, t2, a2, s12, s22, k2)
        win2[r], s12b[r], s22b[r] = win, s12, s22
    st[0], st[1], st[2], st[3], st[4] = t1, a1, s11, s21, k1
    st[5], st[6], st[7], st[8], st[9] = t2, a2, s12, s22, k2


@njit(cache=True, nogil=True, error_model="numpy")
def _widths(window, s1, s2, sd, out, m, inv, scale):
    """Bandwidths (upper - lower) * 10 / middle = scale * deviation / window of m bars from their band sums into
    out[:m], the deviations over the window length into sd[:m] (0 for a (near-)zero variance, as `_band`).
    A loop of its own because the compiler vectorises it: the square root and the division are most of
    bb_state's arithmetic."""
    for r in range(m):
        var = (s2[r] - s1[r] * s1[r] * inv) * inv
        var = var if var >= _ZERO else 0.0
        d = math.sqrt(var)
        sd[r] = d
        out[r] = d * scale / window[r]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _band_ratio(x, window, sd, p, k):
    """Where x sits in the band of a `_widths` deviation: (x - lower) / (upper - lower), 0.5 for a flat band."""
    mid, dev = window / float(p), (sd * k if sd > 0 else 0.0)  # as `_band`: a positive sd is sqrt(var >= _ZERO)
    up, lo = mid + dev, mid - dev
    return (x - lo) / (up - lo) if up > lo else 0.5


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _settle(x, ratio, fall, rise):
    """Steps 3 to 5 of the rules from state byte x (8 * index in (0, -1, 2, -2)): +2 with BBR < 0.2 -> -2,
    -2 with BBR > 0.8 -> +2, then ±2 with BBW falling three bars -> 0, -1 with BBW rising above pl_avg -> 0."""
    if x == 16:
        return 0 if fall else (24 if ratio < 0.2 else 16)
    if x == 24:
        return 0 if fall else (16 if ratio > 0.8 else 24)
    if x == 8:
        return 0 if rise else 8
    return 0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _transitions(cross, low, ratio, fall, rise):
    """A bar's next state from each state, as bytes 8 * index in (0, -1, 2, -2), the byte of state index j at
    bit 8 * j: the five steps applied in order, without a branch on the state."""
    first = 8 if low else ((16 if ratio > 0.5 else 24) if cross else 0)  # steps 1 and 2, when either fires
    every = np.uint32(_settle(first, ratio, fall, rise)) * np.uint32(0x01010101)
    from_m1 = np.uint32(_settle(8, ratio, fall, rise))
    from_up = np.uint32(_settle(16, ratio, fall, rise))
    from_dn = np.uint32(_settle(24, ratio, fall, rise))
    own = (from_m1 << np.uint32(8)) | (from_up << np.uint32(16)) | (from_dn << np.uint32(24))
    return every if cross | low else own


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _is_pivot(wb, q, left, right, high, exact, clean):
    """Whether the candidate wb[q] is a pivot: known if `exact`, else tested bar by bar."""
    if exact:
        return True
    return _pivot_no_nan(wb, q, left, right, high) if clean else _pivot(wb, q, left, right, high)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pair_extremes(src_hi, src_lo, dst_hi, dst_lo, h, m):
    """dst[j] = the max (min) of src[j] and src[j + h], j < m."""
    far_hi, far_lo = src_hi[h:], src_lo[h:]  # views: plain loop indices vectorise, offset ones do not
    for j in range(m):
        a, b = src_hi[j], far_hi[j]
        dst_hi[j] = a if a > b else b
        a, b = src_lo[j], far_lo[j]
        dst_lo[j] = a if a < b else b


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _max(a, b):
    """The larger of a and b (b if they tie), as maxpd."""
    return a if a > b else b


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _min(a, b):
    """The smaller of a and b (b if they tie), as minpd."""
    return a if a < b else b


@njit(cache=True, nogil=True, error_model="numpy")
def _direct_extremes(wb, dst_hi, dst_lo, k, m):
    """dst[j] = the max (min) of wb[j:j + 2**k] for k <= 3, j < m: straight from wb, which stays in cache."""
    w1, w2, w3, w4, w5, w6, w7 = wb[1:], wb[2:], wb[3:], wb[4:], wb[5:], wb[6:], wb[7:]
    if k == 1:
        for j in range(m):
            dst_hi[j], dst_lo[j] = _max(wb[j], w1[j]), _min(wb[j], w1[j])
    elif k == 2:
        for j in range(m):
            dst_hi[j] = _max(_max(wb[j], w1[j]), _max(w2[j], w3[j]))
            dst_lo[j] = _min(_min(wb[j], w1[j]), _min(w2[j], w3[j]))
    else:
        for j in range(m):
            a = _max(_max(wb[j], w1[j]), _max(w2[j], w3[j]))
            dst_hi[j] = _max(a, _max(_max(w4[j], w5[j]), _max(w6[j], w7[j])))
            a = _min(_min(wb[j], w1[j]), _min(w2[j], w3[j]))
            dst_lo[j] = _min(a, _min(_min(w4[j], w5[j]), _min(w6[j], w7[j])))


@njit(cache=True, nogil=True, error_model="numpy")
def _sparse_extremes(wb, hi, lo, end, kl, kr):
    """Rows kl and kr of the sparse tables of a NaN-free wb[:end]: hi[k, j] and lo[k, j] are the max and min of
    wb[j:j + 2**k] (rows 1 to 3 straight from wb, higher ones by doubling; row 0 is wb itself, unused)."""
    top = len(hi) - 1
    for k in range(1, 4):
        if k <= top and (k in (kl, kr) or k == min(top, 3)):
            _direct_extremes(wb, hi[k], lo[k], k, end - (1 << k) + 1)
    for k in range(4, top + 1):
        h = 1 << (k - 1)
        _pair_extremes(hi[k - 1], lo[k - 1], hi[k], lo[k], h, end - 2 * h + 1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _fallback(w, cap, high):
    """A pivot mean before the first pivot: max(w, cap) for highs, min(w, cap) for lows; NaN for a NaN w."""
    if math.isnan(w):
        return np.nan
    if high:
        return w if w > cap else cap
    return w if w < cap else cap


@njit(cache=True, nogil=True, error_model="numpy")
def bb_state(c, length, mult, ma_length, long_length, left, right, keep, long_left):
    """The seed's BB_State in one streaming pass over blocks of bars (no full-length temporaries); see
    `engine.trend.bb_state` for the rules. Per block: the band sums (serial), the bandwidths (vectorised),
    the SMA of the bandwidth (serial), the pivots (vectorised window extremes, or bar-by-bar tests of the local
    extremes near a NaN), the pivot means and the long band's squeeze latch (serial), each bar's next state
    from every state (vectorised), then the state chain (serial)."""
    if left < 1 or right < 1 or long_left < 1:  # the pivot windows and the look-ahead buffer need a bar each side
        raise ValueError("bb_state pivots need at least one bar on each side")
    n = len(c)
    out = np.zeros(n, dtype=np.int8)
    block = 2048
    lead = max(left, long_left) + right + 2  # bars of the previous block that this block's pivots look back on
    size = 1
    while size < ma_length + 1:
        size *= 2
    mask = size - 1
    w0_ring = np.zeros(size)  # the bandwidth with NaN as 0, for TA-Lib's SMA of it
    wb, mb = np.full(lead + block, np.nan), np.full(lead + block, np.nan)  # bandwidth and its moving sum
    w2b = np.full(lead + block, np.nan)  # the long band's width
    win1, s11b, s21b, sdb = np.empty(block), np.empty(block), np.empty(block), np.empty(block)
    win2, s12b, s22b, sd2b = np.empty(block), np.empty(block), np.empty(block), np.empty(block)
    lnb = np.empty(block, dtype=np.int64)  # the last bar with a NaN bandwidth, as of each bar
    kl = kr = 0  # the sparse-table rows whose two lookups cover the left and the right window
    while 2 << kl <= left:
        kl += 1
    while 2 << kr <= right:
        kr += 1
    hi, lo = np.empty((max(kl, kr) + 1, lead + block)), np.empty((max(kl, kr) + 1, lead + block))
    hl, ll = (wb, wb) if kl == 0 else (hi[kl], lo[kl])
    hr, lr = (wb, wb) if kr == 0 else (hi[kr], lo[kr])
    base = lead - right  # wb[base + r] is the bar confirmed as a pivot at bar b0 + r
    near = 3 if min(long_left, right) >= 3 else 1  # the long band's candidate test: bars 1, 2 and 3 (or just 1)
    flags = np.empty(block, dtype=np.uint8)
    buzzb = np.full(block + 1, np.nan)  # buzzb[r + 1] is bar r's buzz, buzzb[0] the previous bar's
    alb, llb = np.empty(block), np.empty(block)
    sqb = np.empty(block, dtype=np.bool_)  # the long band's squeeze latch per bar
    code = np.empty(block, dtype=np.uint32)
    hist_h, hist_l, hist_2 = np.empty(keep), np.empty(keep), np.empty(keep)
    nh = nl = n2 = 0
    avg_high = avg_low = avg_2 = buzz = low_line = squeeze2 = np.nan
    squeezed = True  # the latch starts true
    sums = np.zeros(10)  # the two bands' running sums, see _block_sums
    total_ma = 0.0
    s = 0  # the state as 8 * its index in (0, -1, 2, -2)
    last_nan = -1
    fma = float(ma_length)
    for b0 in range(0, n, block):
        m = min(n, b0 + block) - b0
        for j in range(lead):
            wb[j], mb[j], w2b[j] = wb[block + j], mb[block + j], w2b[block + j]
        buzzb[0] = buzzb[block]
        _block_sums(c, b0, m, length, long_length, sums, win1, s11b, s21b, win2, s12b, s22b)
        _widths(win1, s11b, s21b, sdb, wb[lead:], m, 1.0 / float(length), 20.0 * mult * float(length))
        _widths(win2, s12b, s22b, sd2b, w2b[lead:], m, 1.0 / float(long_length), 20.0 * mult * float(long_length))
        for r in range(m):
            i, k = b0 + r, lead + r
            w = wb[k]
            nan = math.isnan(w)
            w0 = 0.0 if nan else w
            last_nan = i if nan else last_nan
            lnb[r] = last_nan
            w0_ring[i & mask] = w0
            total_ma += w0
            if i >= ma_length - 1:  # SMA(bbw): only over ma_length defined bandwidths
                mb[k] = total_ma if last_nan <= i - ma_length else np.nan
                total_ma -= w0_ring[(i - ma_length + 1) & mask]
            else:
                mb[k] = np.nan
        # the offset views keep the vectorised loops' indices plain (an offset index costs a gather)
        val, prev, nxt, sm = wb[base:], wb[base - 1 :], wb[base + 1 :], mb[base:]
        first = left + right - b0  # bars before it confirm no pivot
        # no NaN bandwidth in reach: the pivots are exact window extremes; else the local extremes are
        # candidates for the bar-by-bar tests
        exact = last_nan < b0 - lead + 2
        if exact:
            _sparse_extremes(wb, hi, lo, lead + m, kl, kr)
            hl0, hl1 = hl[base - left :], hl[base - (1 << kl) :]
            hr0, hr1 = hr[base + 1 :], hr[base + right - (1 << kr) + 1 :]
            ll0, ll1 = ll[base - left :], ll[base - (1 << kl) :]
            lr0, lr1 = lr[base + 1 :], lr[base + right - (1 << kr) + 1 :]
            for r in range(m):
                v, ma = val[r], sm[r] / fma  # TA-Lib's SMA
                peak = (hl0[r] < v) & (hl1[r] < v) & (hr0[r] <= v) & (hr1[r] <= v) & (v > ma)
                dip = (ll0[r] > v) & (ll1[r] > v) & (lr0[r] >= v) & (lr1[r] >= v) & (v < ma)
                flags[r] = (r >= first) * (peak + 2 * dip)
        else:
            for r in range(m):
                v, ma = val[r], sm[r] / fma
                peak = ~(prev[r] >= v) & ~(nxt[r] > v) & (v > ma)
                dip = ~(prev[r] <= v) & ~(nxt[r] < v) & (v < ma)
                flags[r] = (r >= first) * (peak + 2 * dip)
        # the long band's pivot lows below 1: the candidates are below their nearest `near` bars on each side
        # (NaN neighbours never refuse); the long band is smooth, so a local minimum is often no pivot
        val2, first2 = w2b[base:], long_left + right - b0
        half = (near + 1) // 2
        p1, p2, p3 = w2b[base - 1 :], w2b[base - half :], w2b[base - near :]
        n1, n2_, n3 = w2b[base + 1 :], w2b[base + half :], w2b[base + near :]
        for r in range(m):
            v = val2[r]
            below = ~(p1[r] <= v) & ~(p2[r] <= v) & ~(p3[r] <= v) & ~(n1[r] < v) & ~(n2_[r] < v) & ~(n3[r] < v)
            flags[r] |= ((r >= first2) & (v < 1.0) & below) * np.uint8(4)
        for r in range(m):
            f = flags[r]
            k = lead + r
            if f:  # rare: a pivot (or, near a NaN, a candidate)
                q = base + r
                clean = b0 + r - right - left > lnb[r]
                if f & 1 and _is_pivot(wb, q, left, right, True, exact, clean):
                    avg_high, nh = _remember(hist_h, nh, wb[q])
                    buzz = 0.7 * avg_high
                if f & 2 and _is_pivot(wb, q, left, right, False, exact, clean):
                    avg_low, nl = _remember(hist_l, nl, wb[q])
                    low_line = avg_low / 0.7
                if f & 4 and _pivot(w2b, q, long_left, right, False):
                    avg_2, n2 = _remember(hist_2, n2, w2b[q])
                    squeeze2 = avg_2 / 0.7
            w2 = w2b[k]
            if nh and nl and n2:
                buzzb[r + 1], alb[r], llb[r] = buzz, avg_low, low_line
            else:  # before the first pivots: the fallbacks of the bar's own widths
                w = wb[k]
                buzzb[r + 1] = 0.7 * (avg_high if nh else _fallback(w, 5.0, True))
                alb[r] = avg_low if nl else _fallback(w, 5.0, False)
                llb[r] = alb[r] / 0.7
                squeeze2 = avg_2 / 0.7 if n2 else _fallback(w2, 5.0, False) / 0.7
            squeezed = False if w2 > squeeze2 else (True if w2 < squeeze2 else squeezed)
            sqb[r] = squeezed
        w0s, w1s, w2s, w3s, cs, buzz1 = wb[lead:], wb[lead - 1 :], wb[lead - 2 :], wb[lead - 3 :], c[b0:], buzzb[1:]
        for r in range(m):
            w, w1, w2, w3 = w0s[r], w1s[r], w2s[r], w3s[r]
            cross = (w > buzz1[r]) & (w1 <= buzzb[r])
            low = (w < llb[r]) & sqb[r]
            ratio = _band_ratio(cs[r], win1[r], sdb[r], length, mult)
            fall = (w < w1) & (w1 < w2) & (w2 < w3)
            code[r] = _transitions(cross, low, ratio, fall, (w > alb[r]) & (w > w1))
        ob = out[b0:]
        for r in range(m):
            s = (code[r] >> s) & 255
            ob[r] = _STATES[s >> 3]
    return out
