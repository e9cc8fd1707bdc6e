"""Backtest metrics equal hand-computed values on small series."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from engine.backtest.metrics import EndPosition, compute, end_position, max_drawdown_pct, sharpe_ratio

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


def _fill(side: str, price: float, amount: float, fee: float) -> SimpleNamespace:
    return SimpleNamespace(side=side, price=price, amount=amount, fee=fee)


def test_position_held_at_the_end_by_hand():
    """Buy 1 @ 100 (fee 0.10), buy 1 @ 110 (0.11), sell 0.5 @ 120 (0.06); last close 130, from 1,000.
    Cash 849.73, final equity 849.73 + 1.5 × 130 = 1,044.73; entry 105; unrealised 1.5 × (130 − 105) = 37.50;
    realised (0.5 × (120 − 105) − 0.27 fees) = 7.23; the two add up to the change of equity."""
    fills = [_fill("buy", 100, 1, 0.10), _fill("buy", 110, 1, 0.11), _fill("sell", 120, 0.5, 0.06)]
    end = end_position(fills, 130.0, 1000.0, 1044.73)
    assert (end.amount, end.entry, end.mark) == (pytest.approx(1.5), pytest.approx(105.0), 130.0)
    assert end.unrealized_pnl == pytest.approx(37.5) and end.realized_pnl == pytest.approx(7.23)


def test_end_position_flat_short_and_flipped():
    flat = end_position([_fill("buy", 100, 1, 0.1), _fill("sell", 90, 1, 0.09)], 95.0, 1000.0, 989.81)
    assert (flat.amount, flat.unrealized_pnl) == (0.0, 0.0) and flat.realized_pnl == pytest.approx(-10.19)
    # short 2 @ 50, then buy 3 @ 40: closes the short (+20) and opens a long of 1 @ 40; mark 45
    flip = end_position([_fill("sell", 50, 2, 0.0), _fill("buy", 40, 3, 0.0)], 45.0, 100.0, 125.0)
    assert (flip.amount, flip.entry, flip.unrealized_pnl, flip.realized_pnl) == (1.0, 40.0, 5.0, 20.0)
    short = end_position([_fill("sell", 50, 2, 0.0)], 55.0, 100.0, 90.0)
    assert (short.amount, short.unrealized_pnl, short.realized_pnl) == (-2.0, -10.0, 0.0)
    assert end_position([], 1.0, 100.0, 100.0) == EndPosition(0.0, 0.0, 1.0, 0.0, 0.0)
