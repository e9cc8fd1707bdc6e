"""HYPERRSI's trend filter against a bar-by-bar pure-Python reference of seed-hyperrsi-detail.md §2.1.

The reference below is written from the spec alone (plain lists and loops, no numpy, no engine code), with the
project's declared departures: a higher-timeframe value reaches a chart bar only once that higher candle has
closed by the chart bar's close; a timeframe the spec asks for that is shorter than the chart's is the chart's own
(the bot has no lower-timeframe candles); pivots are confirmed `right` bars after the pivot bar (the FIFO means
are per bar, never over the whole history); the first MIN_HISTORY chart bars say 0.
Readings of the spec where it is silent: pivots as Pine's (strictly beyond the left bars, at least as far as the
right ones; NaN neighbours ignored); a pivot is kept if bbw > bbw_ma (bbw2 < 1) at the pivot bar, as the live
Python reads it; SMA(bbw, 100) is undefined until 100 bandwidths exist; bbr of a flat band is 0.5 (no rule
reads it then); JMA/T3/VIDYA are seeded with the first close; the rational-quadratic mean skips lags before bar 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import kernels
from engine.candles import Candles, load_csv, resample
from engine.trend import bb_state, bb_timeframe, cycle_timeframe, map_completed, trend_inputs, trend_state

MIN_HISTORY = 200
NAN = math.nan


# ---------------------------------------------------------------- reference: timeframes and mapping
def ref_cycle_minutes(t: int) -> int:
    return 15 if t <= 3 else 30 if t <= 30 else 60 if t < 240 else 480


def ref_bb_minutes(t: int) -> int:
    return 5 if t <= 3 else 15 if t <= 15 else 60


def ref_resample(ts: list[int], close: list[float], step: int) -> tuple[list[int], list[float]]:
    """Epoch-aligned buckets of `step` ms: (bucket open times, last close in each)."""
    bts: list[int] = []
    bc: list[float] = []
    for t, c in zip(ts, close, strict=True):
        b = t - t % step
        if bts and bts[-1] == b:
            bc[-1] = c
        else:
            bts.append(b)
            bc.append(c)
    return bts, bc


def ref_on_chart(ts: list[int], chart_ms: int, mtf_minutes: int, close: list[float], fn, fill):
    """fn(closes of the MTF) per chart bar, from the last MTF candle closed by the chart bar's close."""
    step = mtf_minutes * 60_000
    if step <= chart_ms:
        return fn(close)
    bts, bc = ref_resample(ts, close, step)
    vals = fn(bc)
    where = {b: j for j, b in enumerate(bts)}
    out = []
    for t in ts:
        j = where[t - t % step]  # the MTF candle this chart bar belongs to: closed with it, else the one before
        k = j if bts[j] + step <= t + chart_ms else j - 1
        out.append(vals[k] if k >= 0 else fill)
    return out


# ---------------------------------------------------------------- reference: moving averages
def ref_jma(x, length, phase=50, power=2):
    beta = 0.45 * (length - 1) / (0.45 * (length - 1) + 2)
    alpha = beta**power
    pr = phase / 100 + 1.5
    out = []
    e0 = e1 = e2 = j = 0.0
    for i, v in enumerate(x):
        if i == 0:
            e0, e1, e2, j = v, 0.0, 0.0, v
        else:
            e0 = (1 - alpha) * v + alpha * e0
            e1 = (v - e0) * (1 - beta) + beta * e1
            e2 = (e0 + pr * e1 - j) * (1 - alpha) ** 2 + alpha**2 * e2
            j = e2 + j
        out.append(sum(x[: i + 1]) / (i + 1) if i < length else j)
    return out


def ref_ema(x, length):
    a = 2 / (length + 1)
    out = []
    for i, v in enumerate(x):
        out.append(v if i == 0 else a * v + (1 - a) * out[-1])
    return out


def ref_t3(x, length, a=0.7):
    e = [x]
    for _ in range(6):
        e.append(ref_ema(e[-1], length))
    c1, c2 = -(a**3), 3 * a**2 + 3 * a**3
    c3, c4 = -6 * a**2 - 3 * a - 3 * a**3, 1 + 3 * a + a**3 + 3 * a**2
    return [c1 * e[6][i] + c2 * e[5][i] + c3 * e[4][i] + c4 * e[3][i] for i in range(len(x))]


def ref_vidya(x, length, window=9):
    out = []
    for t, v in enumerate(x):
        if t == 0:
            out.append(v)
            continue
        up = dn = 0.0
        for j in range(max(1, t - window + 1), t + 1):
            d = x[j] - x[j - 1]
            if d > 0:
                up += d
            else:
                dn -= d
        cmo = abs(up - dn) / (up + dn) if up + dn > 0 else 1.0
        out.append(out[-1] + 2 / (length + 1) * cmo * (v - out[-1]))
    return out


def ref_rq(x, lookback=30, weight=0.5, start=5):
    out = []
    for i in range(len(x)):
        num = den = 0.0
        for lag in range(start + 2):  # lags 0..6
            if i - lag < 0:
                break
            w = (1 + lag**2 / (2 * weight * lookback**2)) ** -weight
            num += w * x[i - lag]
            den += w
        out.append(num / den)
    return out


def ref_cycle(closes, lengths, kind):
    ma = ref_jma if kind == "JMA" else ref_t3
    m1, m2, m3 = (ref_rq(ma(closes, n)) for n in lengths)
    bull = [(a > b > c) or (b > a > c) for a, b, c in zip(m1, m2, m3, strict=True)]
    bear = [c > b > a for a, b, c in zip(m1, m2, m3, strict=True)]
    return [1 if u else -1 if d else 0 for u, d in zip(bull, bear, strict=True)]


def ref_cycle2(closes):
    m1, m2, m3 = (ref_vidya(closes, n) for n in (3, 9, 21))
    out = []
    for a, b, c in zip(m1, m2, m3, strict=True):
        bull = (a > c > b) or (a > b > c) or (b > a > c)
        bear = (c > b > a) or (b > c > a) or (c > a > b)
        out.append(1 if bull else -1 if bear else 0)
    return out


# ---------------------------------------------------------------- reference: BB_State
def ref_band(close, i, n, mult):
    """(bandwidth (upper-lower)*10/basis, lower, upper) of the n closes ending at i (population stdev)."""
    if i < n - 1:
        return NAN, NAN, NAN
    w = close[i - n + 1 : i + 1]
    basis = math.fsum(w) / n
    sd = math.sqrt(math.fsum((v - basis) ** 2 for v in w) / n)
    up, lo = basis + mult * sd, basis - mult * sd
    return (up - lo) * 10 / basis, lo, up


def ref_pivot(x, p, left, right, high):
    v = x[p]
    if math.isnan(v):
        return False
    lft = [u for u in x[p - left : p] if not math.isnan(u)]
    rgt = [u for u in x[p + 1 : p + right + 1] if not math.isnan(u)]
    if not lft or not rgt:
        return False
    if high:
        return all(v > u for u in lft) and all(v >= u for u in rgt)
    return all(v < u for u in lft) and all(v <= u for u in rgt)


def ref_bb_state(close, length=15, mult=1.5, ma_length=100, long_length=60, right=10, long_left=30):
    n = len(close)
    bands = [ref_band(close, i, length, mult) for i in range(n)]
    bbw = [b[0] for b in bands]
    bbw2 = [ref_band(close, i, long_length, mult)[0] for i in range(n)]
    bbw_ma = []
    for i in range(n):
        win = bbw[max(0, i - ma_length + 1) : i + 1]
        ok = i >= ma_length - 1 and not any(math.isnan(v) for v in win)
        bbw_ma.append(sum(win) / ma_length if ok else NAN)
    highs: list[float] = []
    lows: list[float] = []
    lows2: list[float] = []
    state, sq2, out, buzz_prev = 0, True, [], NAN
    for i in range(n):
        p = i - right  # the bar a pivot confirmed now stands at
        if p - 20 >= 0 and bbw[p] > bbw_ma[p] and ref_pivot(bbw, p, 20, right, True):
            highs = [*highs, bbw[p]][-50:]
        if p - 20 >= 0 and bbw[p] < bbw_ma[p] and ref_pivot(bbw, p, 20, right, False):
            lows = [*lows, bbw[p]][-50:]
        if p - long_left >= 0 and bbw2[p] < 1 and ref_pivot(bbw2, p, long_left, right, False):
            lows2 = [*lows2, bbw2[p]][-50:]
        w = bbw[i]
        ph_avg = sum(highs) / len(highs) if highs else (NAN if math.isnan(w) else max(w, 5))
        pl_avg = sum(lows) / len(lows) if lows else (NAN if math.isnan(w) else min(w, 5))
        buzz, squeeze = 0.7 * ph_avg, pl_avg / 0.7
        w2 = bbw2[i]
        pl2 = sum(lows2) / len(lows2) if lows2 else (NAN if math.isnan(w2) else min(w2, 5))
        squeeze2 = pl2 / 0.7
        if w2 > squeeze2:
            sq2 = False
        if w2 < squeeze2:
            sq2 = True
        _, lo, up = bands[i]
        bbr = (close[i] - lo) / (up - lo) if up > lo else 0.5
        prev = [bbw[i - k] if i - k >= 0 else NAN for k in range(4)]
        if i >= 1 and w > buzz and prev[1] <= buzz_prev:  # step 1: bbw crosses over buzz
            state = 2 if bbr > 0.5 else -2
        if w < squeeze and sq2:  # step 2
            state = -1
        if state == 2 and bbr < 0.2:  # step 3
            state = -2
        if state == -2 and bbr > 0.8:
            state = 2
        if state in (2, -2) and prev[0] < prev[1] < prev[2] < prev[3]:  # step 4: fallen for 3 bars
            state = 0
        if state == -1 and w > pl_avg and w > prev[1]:  # step 5
            state = 0
        out.append(state)
        buzz_prev = buzz
    return out


# ---------------------------------------------------------------- reference: trend_state
def ref_trend_state(ts, close, chart_minutes, use_longer_trend=False, custom_length=None):
    chart_ms = chart_minutes * 60_000
    lengths, kind = ((20, 40, 120), "T3") if use_longer_trend else ((5, 10, 20), "JMA")
    if custom_length is not None:
        lengths, kind = (custom_length + 1, round(custom_length * 2.6), round(custom_length * 4.8)), "T3"
    cyc = ref_on_chart(ts, chart_ms, ref_cycle_minutes(chart_minutes), close, lambda c: ref_cycle(c, lengths, kind), 0)
    bb = ref_on_chart(ts, chart_ms, ref_bb_minutes(chart_minutes), close, ref_bb_state, 0)
    cyc2 = ref_on_chart(ts, chart_ms, 240, close, ref_cycle2, 0) if use_longer_trend else [0] * len(ts)
    state, out = 0, []
    for i in range(len(ts)):
        bull, bear = cyc[i] == 1, cyc[i] == -1
        if use_longer_trend:
            bull, bear = bull and cyc2[i] == 1, bear and cyc2[i] == -1
        if bull and (use_longer_trend or bb[i] == 2):
            state = 2
        elif state == 2 and not bull:
            state = 0
        elif bear and (use_longer_trend or bb[i] == -2):
            state = -2
        elif state == -2 and not bear:
            state = 0
        out.append(state if i >= MIN_HISTORY else 0)
    return out


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize(
    ("tf", "cycle", "bb"),
    [("1m", "15m", "5m"), ("3m", "15m", "5m"), ("5m", "30m", "15m"), ("15m", "30m", "15m"), ("30m", "30m", "1h"),
     ("1h", "1h", "1h"), ("4h", "8h", "4h"), ("1d", "1d", "1d")],
)
def test_each_part_reads_its_own_timeframe(tf, cycle, bb):
    assert (cycle_timeframe(tf), bb_timeframe(tf)) == (cycle, bb)
    minutes = {"m": 1, "h": 60, "d": 1440}[tf[-1]] * int(tf[:-1])
    assert (ref_cycle_minutes(minutes) <= minutes) == (cycle == tf)  # the spec's, unless shorter than the chart
    assert (ref_bb_minutes(minutes) <= minutes) == (bb == tf)


@pytest.mark.parametrize("name", ["BTC_USDT-15m.csv", "ETH_USDT-1h.csv", "BTC_USDT-4h.csv"])
def test_bb_state_equals_the_reference(shared_data, name):
    c = load_csv(shared_data / name).close[:12_000]
    ref = ref_bb_state(c.tolist())
    assert set(ref) == {-2, -1, 0, 2}
    np.testing.assert_array_equal(bb_state(c), np.array(ref, dtype=np.int8))


def test_bb_state_resets_only_after_three_falling_bars(shared_data):
    c = load_csv(shared_data / "BTC_USDT-15m.csv").close[:20_000]
    st = bb_state(c)
    up, mid, lo = kernels.bbands(c, 15, 1.5)
    w = (up - lo) * 10 / mid
    bbr = (c - lo) / (up - lo)
    two = three = 0
    for i in range(200, len(c)):
        quiet = 0.2 <= bbr[i] <= 0.8 and st[i] != -1  # no flip, no squeeze; crossing buzz needs a rising bbw
        if abs(st[i - 1]) != 2 or not quiet or not w[i] < w[i - 1] < w[i - 2]:
            continue
        if w[i - 2] < w[i - 3]:
            three += 1
            assert st[i] == 0, i
        else:
            two += 1
            assert st[i] == st[i - 1], i  # two falling bars keep ±2
    assert two > 50 and three > 50


@pytest.mark.parametrize("seed", range(12))
def test_bb_state_equals_the_reference_on_random_walks(seed):
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(0, rng.uniform(0.05, 0.5), 3000))
    np.testing.assert_array_equal(bb_state(c), np.array(ref_bb_state(c.tolist()), dtype=np.int8))


def test_bb_state_of_the_trend_filter_is_on_bb_timeframe(shared_data):
    c = load_csv(shared_data / "BTC_USDT-1m.csv")[:20_000]
    _, bb = trend_inputs(c, "1m")
    for tf, ms in (("5m", 300_000), ("15m", 900_000)):
        h = resample(c, tf)
        mapped = map_completed(c.ts, 60_000, h.ts, ms, bb_state(h.close))
        if tf == "5m":
            np.testing.assert_array_equal(bb, mapped)
        else:
            assert (bb != mapped).mean() > 0.1  # the trend timeframe's state is a different thing


def test_latch_goes_through_zero_from_plus_two_to_minus_two():
    cyc = np.array([1, -1, -1, -1, 1, 0], dtype=np.int8)
    bb = np.array([2, -2, -2, 0, 2, 2], dtype=np.int8)
    assert kernels.persist(cyc, bb, False).tolist() == [2, 0, -2, -2, 2, 0]
    assert kernels.persist(cyc, np.zeros(6, dtype=np.int8), True).tolist() == [2, 0, -2, -2, 2, 0]


@pytest.mark.parametrize(("name", "tf", "minutes"), [("BTC_USDT-5m.csv", "5m", 5), ("BTC_USDT-1m.csv", "1m", 1),
                                                     ("BTC_USDT-15m.csv", "15m", 15), ("BTC_USDT-4h.csv", "4h", 240)])
def test_trend_state_equals_the_reference_bar_by_bar(shared_data, name, tf, minutes):
    c = load_csv(shared_data / name)
    ref = np.array(ref_trend_state(c.ts.tolist(), c.close.tolist(), minutes), dtype=np.int8)
    assert 0.15 < (np.abs(ref) == 2).mean() < 0.5 and (ref == 2).any() and (ref == -2).any()
    np.testing.assert_array_equal(trend_state(c, tf), ref)


@pytest.mark.parametrize(("longer", "custom"), [(True, None), (False, 7), (True, 4)])
def test_longer_trend_and_custom_lengths_equal_the_reference(shared_data, longer, custom):
    c = load_csv(shared_data / "BTC_USDT-15m.csv")[:20_000]
    ref = np.array(ref_trend_state(c.ts.tolist(), c.close.tolist(), 15, longer, custom), dtype=np.int8)
    assert (ref == 2).any() and (ref == -2).any()
    np.testing.assert_array_equal(trend_state(c, "15m", longer, custom), ref)


def test_trend_state_prefix_gives_the_same_states(shared_data):
    c = load_csv(shared_data / "BTC_USDT-1m.csv")[:15_000]
    full = trend_state(c, "1m", True)
    for k in (1_234, 7_777, 14_001):
        np.testing.assert_array_equal(trend_state(c[:k], "1m", True), full[:k])


def test_gaps_leave_partial_higher_candles_that_still_close(shared_data):
    c = load_csv(shared_data / "BTC_USDT-1m.csv")[:30_000]
    keep = np.random.default_rng(9).random(len(c)) > 0.3  # 30 % of the minutes missing, whole hours at times
    keep[5_000:5_200] = False
    holes = Candles(c.ts[keep], c.open[keep], c.high[keep], c.low[keep], c.close[keep], c.volume[keep])
    ref = np.array(ref_trend_state(holes.ts.tolist(), holes.close.tolist(), 1), dtype=np.int8)
    assert (ref == 2).any() and (ref == -2).any()
    np.testing.assert_array_equal(trend_state(holes, "1m"), ref)


@pytest.mark.parametrize(("name", "tf"), [("BTC_USDT-5m.csv", "5m"), ("BTC_USDT-1h.csv", "1h")])
def test_a_warmup_window_gives_the_long_history_state(shared_data, name, tf):
    from engine.strategies.hyperrsi import HyperRsiSettings
    from engine.strategy_inputs import warmup

    c = load_csv(shared_data / name)
    full, w = trend_state(c, tf), warmup(HyperRsiSettings(timeframe=tf))
    ends = np.random.default_rng(5).integers(w, len(c), 60)
    assert sum(trend_state(c[i - w + 1 : i + 1], tf)[-1] != full[i] for i in ends) == 0


@pytest.mark.parametrize(("long_left", "right"), [(30, 10), (2, 10), (30, 2), (1, 1)])
def test_bb_state_kernel_long_band_pivots_for_any_window(long_left, right):
    """The kernel's shortcuts (exact window extremes, candidate tests) hold for short pivot windows too."""
    c = 100 + np.cumsum(np.random.default_rng(long_left + right).normal(0, 0.2, 4000))
    got = kernels.bb_state(c, 15, 1.5, 100, 60, 20, right, 50, long_left)
    np.testing.assert_array_equal(got, np.array(ref_bb_state(c.tolist(), right=right, long_left=long_left)))
