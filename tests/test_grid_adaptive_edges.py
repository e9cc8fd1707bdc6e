"""Adaptive and neutral GRID edges found by the fast backtest's search: a re-centred entry too small for the lot,
and a neutral grid's exits on a one-way account."""

from __future__ import annotations

from engine.backtest.runner import run_backtest
from engine.candles import load_csv
from engine.strategies.grid import GridState, Level, desired_orders
from engine.strategies.grid_ladder import MarketRules

RULES = MarketRules(price_step=10, amount_step=0.001, min_cost=5)
SETTINGS = {"mode": "adaptive", "direction": "neutral", "levels": 23, "investment": 1000, "leverage": 1}


def test_a_recentred_entry_below_the_minimum_is_cancelled_not_a_crash(shared_data):
    """Seen: PlanRefused escaped on_candle when re-centring moved an entry below the minimum (live alike)."""
    c = load_csv(shared_data / "BTC_USDT-1h.csv")[30306:30706]
    fast = run_backtest("grid", SETTINGS, c, timeframe="1h", market_rules=RULES)
    slow = run_backtest("grid", SETTINGS, c, timeframe="1h", market_rules=RULES, step_every_candle=True)
    assert fast.fills and fast.fills == slow.fills and fast.metrics == slow.metrics


def test_a_neutral_grids_exits_are_not_reduce_only(shared_data):
    """Its long and short levels net out on a one-way account: a long level's reduce-only sell exit met a flat or
    short position and was refused (94 refused exits in the run above), leaving the level without take-profit."""
    state = GridState(levels=(Level(0, 100.0, state="exit_placed", side="buy", filled=1.0, order_price=101.0),
                              Level(1, 102.0, state="exit_placed", side="sell", filled=1.0, order_price=101.0)))
    assert [o.reduce_only for o in desired_orders(state, neutral=True)] == [False, False]
    assert [o.reduce_only for o in desired_orders(state)] == [True, True]
    c = load_csv(shared_data / "BTC_USDT-1h.csv")[30306:30706]
    r = run_backtest("grid", SETTINGS, c, timeframe="1h", market_rules=RULES)
    assert not [n for n in r.notes if n[0] == "refused_invalid_order"], r.notes
