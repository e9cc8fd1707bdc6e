"""Backtest metrics equal hand-computed values on small series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.backtest.metrics import compute, max_drawdown_pct, sharpe_ratio

HOUR = 3_600_000


def test_drawdown_by_hand():
    # peak 120, trough 90 -> 25 %; later peak 130, trough 117 -> 10 %
    assert max_drawdown_pct(np.array([100, 120, 90, 110, 130, 117.0])) == pytest.approx(25.0)
    assert max_drawdown_pct(np.array([100, 101, 102.0])) == 0.0


def test_sharpe_by_hand():
    eq = np.array([100.0, 110.0, 99.0, 108.9])  # returns +10 %, -10 %, +10 %
    r = np.array([0.1, -0.1, 0.1])
    expected = r.mean() / r.std(ddof=1) * math.sqrt(365 * 24)
    assert sharpe_ratio(eq, HOUR) == pytest.approx(expected)
    assert expected == pytest.approx(0.033333 / 0.11547 * 93.5949, rel=1e-4)
    assert sharpe_ratio(np.array([100.0, 100.0, 100.0]), HOUR) == 0.0  # flat: no risk, no ratio


def test_compute_by_hand():
    m = compute(np.array([105.0, 95.0, 120.0]), [10.0, -5.0, 20.0, -10.0], fees_paid=1.5,
                candle_ms=HOUR, initial_equity=100.0)
    assert m.total_return_pct == pytest.approx(20.0)
    assert m.max_drawdown_pct == pytest.approx((105 - 95) / 105 * 100)
    assert (m.trades, m.win_rate) == (4, 50.0)
    assert m.profit_factor == pytest.approx(30 / 15)
    assert (m.final_equity, m.fees_paid) == (120.0, 1.5)


def test_no_trades_and_no_losses():
    m = compute(np.array([100.0]), [], 0.0, HOUR, 100.0)
    assert (m.trades, m.win_rate, m.profit_factor, m.total_return_pct) == (0, 0.0, None, 0.0)
    assert compute(np.array([110.0]), [10.0], 0.0, HOUR, 100.0).profit_factor is None
