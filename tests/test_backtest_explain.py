"""Why a backtest made no trade, and the position it still holds at the end, on small made-up markets."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backtest.explain import report
from engine.backtest.runner import run_backtest
from engine.candles import Candles
from engine.exchange.paper import MAKER_FEE, SLIPPAGE, TAKER_FEE
from engine.strategies.grid_ladder import MarketRules

COSTS = {"maker_fee": float(MAKER_FEE), "taker_fee": float(TAKER_FEE), "slippage": float(SLIPPAGE)}


def candles(close: np.ndarray) -> Candles:
    n = len(close)
    return Candles(1_700_000_000_000 + np.arange(n) * 3_600_000, close, close * 1.002, close * 0.998, close,
                   np.ones(n))


def wave(n: int = 600, mid: float = 100.0, amp: float = 0.05) -> Candles:
    return candles(mid * (1 + amp * np.sin(np.arange(n) / 25)))


def run(strategy: str, settings: dict, c: Candles, rules: MarketRules | None = None, equity: float = 10_000.0):
    r = run_backtest(strategy, settings, c, timeframe="1h", initial_equity=equity, market_rules=rules, **COSTS)
    return report(r, settings, c, rules, **COSTS)


def test_orders_the_price_never_reached():
    rep = run("grid", {"lower_price": 50.0, "upper_price": 80.0, "levels": 5}, wave())
    assert rep.why == ("not_reached", {"orders": 5})


def test_no_level_on_the_entry_side():
    """A long grid wholly above the price buys nothing: there is no level below the price to buy at."""
    c = wave()
    rep = run("grid", {"lower_price": 120.0, "upper_price": 150.0, "levels": 4}, c)
    cause, d = rep.why
    assert cause == "no_level_armed" and (d["lowest"], d["highest"]) == (120.0, 150.0)


def noisy(n: int = 600) -> Candles:
    rng = np.random.default_rng(7)
    return candles(100.0 * np.exp(np.cumsum(rng.normal(0, 0.003, n))))


def test_no_signal():
    """RSI never under 1 nor over 99 on a noisy walk: no entry signal at all."""
    rep = run("hyperrsi", {"rsi_entry_option": "threshold", "rsi_oversold": 1.0, "rsi_overbought": 99.0}, noisy())
    assert rep.why[0] == "no_signal" and rep.why[1]["candles"] > 0


def test_entries_below_the_minimum():
    rep = run("hyperrsi", {}, wave(), MarketRules(min_cost=1e6))
    cause, d = rep.why
    assert cause == "below_minimum" and d["signals"] > 0 and d["min_cost"] == 1e6


def test_a_position_never_closed():
    """A long grid on a market that only falls: every level buys, no take-profit is ever reached."""
    c = candles(np.linspace(100.0, 60.0, 400))
    rep = run("grid", {"lower_price": 70.0, "upper_price": 95.0, "levels": 6, "investment": 600.0}, c)
    assert rep.result.metrics.trades == 0 and rep.why[0] == "position_open"
    end = rep.end
    held = sum(f.amount for f in rep.result.fills if f.side == "buy")
    assert end.amount == pytest.approx(held) and end.mark == pytest.approx(60.0)
    assert end.unrealized_pnl == pytest.approx(held * 60.0 - sum(f.price * f.amount for f in rep.result.fills))
    assert end.realized_pnl == pytest.approx(-rep.result.metrics.fees_paid)  # nothing closed: only the fees
    assert rep.json()["notes"][-1]["cause"] == "position_open"


def test_a_run_with_trades_has_no_reason():
    rep = run("grid", {"lower_price": 92.0, "upper_price": 108.0, "levels": 9}, wave())
    assert rep.result.metrics.trades > 0 and rep.why is None and rep.json()["notes"] == []


def test_grid_entries_the_account_cannot_fund():
    """50,000 invested on 100 of equity: each of the 5 levels asks 10,000 of margin. Whether the simulated account
    refuses the entries for funds or places them, the run is never explained as a refused plan or a grid with no
    level to arm: the plan itself is fine."""
    rep = run("grid", {"lower_price": 96.0, "upper_price": 99.0, "levels": 5, "investment": 50_000.0},
              wave(), equity=100.0)
    if rep.result.metrics.trades:
        return
    cause, d = rep.why
    assert cause in ("grid_funds", "not_reached", "position_open"), rep.why
    if cause == "grid_funds":
        assert d == {"margin": 10_000.0, "equity": 100.0}
