"""Custom smoothers: equal to plain per-bar loops of the seed formulas, and to hand-computed bars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.candles import load_csv
from engine.smoothing import efficiency_ratio, er_adaptive, jma, rational_quadratic, t3, vidya


def _jma_loop(x, length=5, phase=50, power=2):
    pr = phase / 100 + 1.5
    beta = 0.45 * (length - 1) / (0.45 * (length - 1) + 2)
    a = beta**power
    e0, e1, e2, j = x[0], 0.0, 0.0, x[0]
    out = [j]
    for v in x[1:]:
        e0 = (1 - a) * v + a * e0
        e1 = (v - e0) * (1 - beta) + beta * e1
        e2 = (e0 + pr * e1 - j) * (1 - a) ** 2 + a**2 * e2
        j = e2 + j
        out.append(j)
    out = np.array(out)
    out[:length] = np.cumsum(x[:length]) / np.arange(1, length + 1)
    return out


def _er_loop(x, n=20, span=5):
    er = np.zeros(len(x))
    for t in range(n, len(x)):
        noise = sum(abs(x[j] - x[j - 1]) for j in range(t - n + 1, t + 1))
        er[t] = abs(x[t] - x[t - n]) / noise if noise > 0 else 0.0
    mama, fama = [x[0]], [x[0]]
    for t in range(1, len(x)):
        mama.append(er[t] * x[t] + (1 - er[t]) * mama[-1])
        fama.append(er[t] / 2 * mama[-1] + (1 - er[t] / 2) * fama[-1])
    a = 2 / (span + 1)

    def ema(v):
        out = [v[0]]
        for y in v[1:]:
            out.append(a * y + (1 - a) * out[-1])
        return np.array(out)

    return er, ema(np.array(mama)), ema(np.array(fama))


def _vidya_loop(x, length, w=9):
    v = [x[0]]
    for t in range(1, len(x)):
        d = np.diff(x[max(0, t - w) : t + 1])
        up, dn = d[d > 0].sum(), -d[d < 0].sum()
        cmo = abs(up - dn) / (up + dn) if up + dn > 0 else 1.0
        v.append(v[-1] + 2 / (length + 1) * cmo * (x[t] - v[-1]))
    return np.array(v)


@pytest.fixture(scope="module")
def closes(shared_data):
    return load_csv(shared_data / "ETH_USDT-1h.csv").close[:3000]


def test_jma_equals_the_seed_recurrence(closes):
    np.testing.assert_allclose(jma(closes), _jma_loop(closes), rtol=1e-12)
    np.testing.assert_allclose(jma(closes, 10, phase=0), _jma_loop(closes, 10, phase=0), rtol=1e-12)


def test_jma_by_hand():
    # length 2: beta = 0.45/2.45, alpha = beta^2; bars 0-1 are the expanding mean; bar 2 by the recurrence
    x = np.array([10.0, 12.0, 11.0])
    b = 0.45 / 2.45
    a = b * b
    e0 = (1 - a) * 12 + a * 10
    e1 = (12 - e0) * (1 - b)
    j1 = (e0 + 2.0 * e1 - 10) * (1 - a) ** 2 + 10
    e2_1 = j1 - 10
    e0b = (1 - a) * 11 + a * e0
    e1b = (11 - e0b) * (1 - b) + b * e1
    j2 = (e0b + 2.0 * e1b - j1) * (1 - a) ** 2 + a * a * e2_1 + j1
    np.testing.assert_allclose(jma(x, 2), [10.0, 11.0, j2], rtol=1e-12)


def test_er_adaptive_equals_the_seed_recurrence(closes):
    er, mama, fama = _er_loop(closes[:800])
    np.testing.assert_allclose(efficiency_ratio(closes[:800]), er, atol=1e-15)
    m, f = er_adaptive(closes[:800])
    np.testing.assert_allclose(m, mama, rtol=1e-12)
    np.testing.assert_allclose(f, fama, rtol=1e-12)


def test_efficiency_ratio_by_hand():
    # n = 2: t=2 |1-1|/2 = 0; t=3 |2-2|/2 = 0; t=4 |3-1| / (|3-2| + |2-1|) = 1; t=5 |2.5-2| / (1 + 0.5) = 1/3
    x = np.array([1.0, 2.0, 1.0, 2.0, 3.0, 2.5])
    np.testing.assert_allclose(efficiency_ratio(x, 2), [0, 0, 0, 0, 1.0, 1 / 3])


def test_vidya_equals_loop(closes):
    np.testing.assert_allclose(vidya(closes[:500], 20), _vidya_loop(closes[:500], 20), rtol=1e-12)


def test_rational_quadratic_by_hand():
    w = (1 + np.arange(7) ** 2 / (2 * 0.5 * 900)) ** -0.5
    x = np.arange(1.0, 11.0)
    out = rational_quadratic(x)
    assert out[0] == 1.0
    assert out[9] == pytest.approx((w * x[9:2:-1]).sum() / w.sum())
    x[8] = np.nan
    assert rational_quadratic(x)[9] == pytest.approx(
        (np.delete(w, 1) * np.delete(x[9:2:-1], 1)).sum() / np.delete(w, 1).sum()
    )


def test_t3_coefficients_sum_to_one():
    assert np.allclose(t3(np.full(100, 5.0))[30:], 5.0)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.01, 1e5), st.integers(30, 300))
def test_constant_series_stays_constant(c, n):
    x = np.full(n, c)
    for out in (jma(x), er_adaptive(x)[0], er_adaptive(x)[1], vidya(x, 10), rational_quadratic(x)):
        assert len(out) == n
        np.testing.assert_allclose(out, c, rtol=1e-12)
