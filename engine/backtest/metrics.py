"""Backtest metrics from an equity curve and closed trades, with the conventions written down."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from engine.ledger import ZERO, Book, book_fill

MS_PER_YEAR = 365 * 24 * 3_600_000  # crypto trades every day


@dataclass(frozen=True, slots=True)
class Metrics:
    initial_equity: float
    final_equity: float
    total_return_pct: float
    max_drawdown_pct: float
    trades: int
    win_rate: float  # % of closed trades with pnl > 0; 0 when there are none
    profit_factor: float | None  # gross profit / gross loss; None with no losing trade
    sharpe: float  # annualised, risk-free 0, from per-candle returns
    fees_paid: float


def max_drawdown_pct(equity: np.ndarray) -> float:
    """Largest fall from a running peak, as a positive percent of that peak."""
    if len(equity) == 0:
        return 0.0
    peak = np.maximum.accumulate(equity)
    dd = (peak - equity) / peak
    return float(dd.max() * 100.0)


def sharpe_ratio(equity: np.ndarray, candle_ms: int) -> float:
    """Mean over standard deviation (ddof 1) of per-candle returns, times sqrt(candles per year)."""
    if len(equity) < 3:
        return 0.0
    r = np.diff(equity) / equity[:-1]
    sd = r.std(ddof=1)
    if not np.isfinite(sd) or sd == 0:
        return 0.0
    return float(r.mean() / sd * math.sqrt(MS_PER_YEAR / candle_ms))


def compute(
    equity: np.ndarray, trade_pnls: Sequence[float], fees_paid: float, candle_ms: int, initial_equity: float
) -> Metrics:
    equity = np.asarray(equity, dtype=np.float64)
    final = float(equity[-1]) if len(equity) else initial_equity
    curve = np.r_[initial_equity, equity]
    pnls = np.asarray(trade_pnls, dtype=np.float64)
    wins, losses = pnls[pnls > 0], pnls[pnls < 0]
    return Metrics(
        initial_equity=initial_equity,
        final_equity=final,
        total_return_pct=(final / initial_equity - 1.0) * 100.0,
        max_drawdown_pct=max_drawdown_pct(curve),
        trades=len(pnls),
        win_rate=float(len(wins) / len(pnls) * 100.0) if len(pnls) else 0.0,
        profit_factor=float(wins.sum() / -losses.sum()) if len(losses) else None,
        sharpe=sharpe_ratio(curve, candle_ms),
        fees_paid=fees_paid,
    )


@dataclass(frozen=True, slots=True)
class EndPosition:
    """The position still held when the candles ran out, apart from what was realised.

    `unrealized_pnl` is amount × (mark − average entry), before the fees of a close that never happened;
    `realized_pnl` is the rest of the change of equity: closed trades after every fee paid (the open position's
    entry fees included), so initial + realised + unrealised = final equity.
    """

    amount: float  # signed, base units; 0 when flat
    entry: float  # average entry price of what is held
    mark: float  # the last close
    unrealized_pnl: float
    realized_pnl: float


def end_position(fills: Sequence, mark: float, initial_equity: float, final_equity: float) -> EndPosition:
    """From the fills (side, price, amount), booked as every fill is (engine/ledger.py: average cost)."""
    book = Book()
    for f in fills:
        book, _ = book_fill(book, f.side, Decimal(repr(f.amount)), Decimal(repr(f.price)), ZERO)
    pos, entry = float(book.position), float(book.average)
    unrealized = pos * (mark - entry) if pos else 0.0
    return EndPosition(pos, entry, mark, unrealized, final_equity - initial_equity - unrealized)
