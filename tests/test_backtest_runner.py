"""The event-skipping backtest equals an every-candle loop over the same strategy steps, and keeps the books."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backtest.runner import build, finish, run_backtest
from engine.candles import load_csv
from engine.strategies import grid as gr
from engine.strategies import hyperrsi as hr
from engine.strategies.grid_ladder import MarketRules
from engine.strategies.roles import OrderRole

HR = [
    {},
    {"direction": "long", "rsi_entry_option": "cross", "use_sl": True, "sl_value": 1.0, "cooldown": 5},
    {"direction": "short", "rsi_entry_option": "turn", "trailing_stop_active": True, "trailing_start_point": "tp1",
     "tp1_value": 0.3, "tp2_value": 0.6, "tp3_value": 0.9, "trailing_stop_offset_value": 0.2},
    {"rsi_entry_option": "cross_back", "pyramiding_entry_type": "atr", "pyramiding_value": 2.0,
     "use_rsi_with_pyramiding": False, "use_trend_logic": False, "tp_option": "price", "tp1_value": 100,
     "tp2_value": 200, "tp3_value": 300, "use_trend_close": False, "entry_option": "rsi_only"},
    {"tp_option": "atr", "tp1_value": 2, "tp2_value": 4, "tp3_value": 6, "use_sl": True, "sl_option": "atr",
     "sl_value": 3, "entry_criterion": "last", "use_check_dca_with_price": False},
    {"trailing_stop_active": True, "use_trailing_stop_value_with_tp2_tp3_difference": True, "use_tp1": False,
     "tp2_value": 0.5, "tp3_value": 0.8, "tp2_ratio": 50, "tp3_ratio": 50, "trailing_start_point": "tp3",
     "leverage": 3, "pyramiding_limit": 5},
    {"leverage": 50, "use_trend_close": False, "entry_option": "rsi_only", "rsi_entry_option": "cross"},
]
GRID = [
    {"lower_price": 60_000, "upper_price": 68_000, "levels": 30},
    {"lower_price": 58_000, "upper_price": 62_000, "levels": 12, "direction": "neutral", "spacing": "geometric",
     "trailing_up": True, "trailing_down": True, "leverage": 2},
    {"lower_price": 64_000, "upper_price": 69_500, "levels": 25, "direction": "short", "adx_gate": True,
     "stop_loss_price": 69_900, "take_profit_price": 60_000},
    {"mode": "adaptive", "levels": 10, "recenter_candles": 30},
    {"lower_price": 62_000, "upper_price": 66_000, "levels": 8, "stop_loss_price": 61_000, "leverage": 3},
    {"lower_price": 62_500, "upper_price": 64_000, "levels": 6, "trailing_up": True, "trailing_down": True,
     "take_profit_price": 69_000},
]


@pytest.fixture(scope="module")
def btc(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:9_000]


@pytest.fixture(scope="module")
def btc_15m(shared_data):
    return load_csv(shared_data / "BTC_USDT-15m.csv")[:3_000]


def naive(strategy, settings, candles, timeframe, **kw):
    """The oracle: step the same driver on EVERY candle, no event detection, no skipping."""
    kw = {"symbol": "BTC/USDT", "initial_equity": 10_000.0, "maker_fee": 0.0002, "taker_fee": 0.0005,
          "slippage": 0.0002, "market": None, "market_rules": None, **kw}
    _, sim, drv, start = build(strategy, settings, candles, timeframe=timeframe, **kw)
    n = len(candles)
    equity = np.full(n, 10_000.0)
    drv.begin()
    for j in range(drv.first, n):
        drv.process(j)
        equity[j] = sim.cash + sim.position * candles.close[j]
        assert book_matches_desired(strategy, drv, sim), j
    return finish(strategy, kw["symbol"], timeframe, sim, drv, candles, equity, start, n - drv.first)


def book_matches_desired(strategy, drv, sim) -> bool:
    """After every step the resting book is exactly what the strategy's desired_orders says."""
    book = {k: (w.side, w.type, w.price, w.amount) for k, w in sim.resting().items()}
    if strategy == "hyperrsi":
        want = {(o.role, o.level): (o.side, o.type, o.price, o.amount, True)  # TPs and the stop are reduce-only
                for o in hr.desired_orders(drv.s, drv.state)}
    elif drv.state is None:
        want = {}
    else:
        want = {(o.level, o.role, o.seq): (o.side, "limit", o.price, o.amount, o.reduce_only)
                for o in gr.desired_orders(drv.state)}
    for k, (side, kind, p, a, reduce_only) in want.items():
        if k in book:
            assert book[k] == (side, kind, p, a), k
        else:  # only what the account refuses: reduce-only with nothing to reduce (one-way swap)
            closing = (sim.position > 0 and side == "sell") or (sim.position < 0 and side == "buy")
            assert reduce_only and sim.market == "swap" and not closing, k
    return set(book) <= set(want)


def same(a, b):
    assert a.fills == b.fills
    assert a.orders == b.orders
    assert np.array_equal(a.ts, b.ts)
    assert np.array_equal(a.equity, b.equity)
    assert a.metrics == b.metrics


def check_books(r, candles, initial=10_000.0, cs=1.0):
    """Every fill inside its candle; maker limit fills at the limit; equity = cash + position at mark − fees."""
    pos_of = {int(t): i for i, t in enumerate(candles.ts)}
    for f in r.fills:
        i = pos_of[f.ts]
        assert candles.low[i] <= f.price <= candles.high[i], f
        assert f.amount > 0 and f.fee >= 0
        if f.type == "limit":
            if f.taker:
                assert (f.price <= f.order_price) if f.side == "buy" else (f.price >= f.order_price)
            else:
                assert f.price == f.order_price
    # replay the ledger from the fills alone
    idx = np.array([pos_of[f.ts] for f in r.fills], dtype=np.int64)
    signed = np.array([f.amount if f.side == "buy" else -f.amount for f in r.fills])
    flow = np.array([-(s * f.price * cs) - f.fee for s, f in zip(signed, r.fills, strict=True)])
    n = len(candles)
    cash = initial + np.bincount(idx, flow, minlength=n).cumsum() if len(idx) else np.full(n, initial)
    pos = np.bincount(idx, signed, minlength=n).cumsum() if len(idx) else np.zeros(n)
    start = n - len(r.ts)
    expect = (cash + pos * cs * candles.close)[start:]
    assert np.allclose(r.equity, expect, rtol=1e-10, atol=1e-7)
    assert r.metrics.fees_paid == pytest.approx(sum(f.fee for f in r.fills))


@pytest.mark.parametrize("k", range(len(HR)))
def test_hyperrsi_skipping_equals_every_candle(btc, k):
    fast = run_backtest("hyperrsi", HR[k], btc, timeframe="1m")
    slow = naive("hyperrsi", HR[k], btc, "1m")
    same(fast, slow)
    assert len(fast.fills) >= 4, "the configuration should trade on this slice"
    check_books(fast, btc)
    assert fast.events < len(btc) or HR[k].get("tp_option") == "atr"


@pytest.mark.parametrize("k", range(len(GRID)))
def test_grid_skipping_equals_every_candle(btc, k):
    fast = run_backtest("grid", GRID[k], btc, timeframe="1m")
    slow = naive("grid", GRID[k], btc, "1m")
    same(fast, slow)
    assert len(fast.fills) >= 4, "the configuration should trade on this slice"
    check_books(fast, btc)
    assert fast.events < len(btc) / 3


def test_spot_grid_and_market_rules(btc):
    rules = MarketRules(price_step=0.01, amount_step=0.00001, min_amount=0.00001, min_cost=5)
    s = GRID[0]
    fast = run_backtest("grid", s, btc, timeframe="1m", market="spot", market_rules=rules)
    same(fast, naive("grid", s, btc, "1m", market="spot", market_rules=rules))
    assert fast.market == "spot"
    check_books(fast, btc)
    for o in fast.orders:
        assert round(o.amount / 0.00001, 6) == round(o.amount / 0.00001) and round(o.price / 0.01, 6) == round(o.price / 0.01)


def test_on_15m_candles(btc_15m):
    for strategy, settings in (("hyperrsi", {}), ("grid", {"mode": "adaptive", "recenter_candles": 4})):
        fast = run_backtest(strategy, settings, btc_15m, timeframe="15m")
        same(fast, naive(strategy, settings, btc_15m, "15m"))
        assert fast.fills
        check_books(fast, btc_15m)


def test_two_runs_are_identical(btc):
    a = run_backtest("hyperrsi", HR[2], btc, timeframe="1m")
    b = run_backtest("hyperrsi", HR[2], btc, timeframe="1m")
    same(a, b)
    assert a.summary() == b.summary()


def test_orders_are_what_the_strategy_asked(btc):
    r = run_backtest("hyperrsi", {}, btc, timeframe="1m")
    roles = {(o.role, o.level if o.role == OrderRole.TAKE_PROFIT else None) for o in r.orders}
    assert {(OrderRole.ENTRY, None), (OrderRole.TAKE_PROFIT, 1), (OrderRole.TAKE_PROFIT, 2),
            (OrderRole.TAKE_PROFIT, 3)} <= roles
    first = r.orders[0]
    assert first.role == OrderRole.ENTRY and first.type == "market" and first.price is None
    # a market order asked at the close of a candle fills at the next candle's open (slipped, inside the candle)
    fill = r.fills[0]
    assert fill.role == OrderRole.ENTRY and fill.ts == first.ts + 60_000 and fill.amount == pytest.approx(first.amount)
    tps = [o for o in r.orders if o.role == OrderRole.TAKE_PROFIT]
    assert all(o.type == "limit" for o in tps)


def test_plan_refused_is_reported(btc):
    r = run_backtest("grid", {"lower_price": 60_000, "upper_price": 68_000, "levels": 200, "investment": 10},
                     btc, timeframe="1m", market_rules=MarketRules(min_cost=5))
    assert r.fills == [] and r.notes and r.notes[0][0] == "below_minimum"
    assert r.metrics.final_equity == 10_000.0


def test_adaptive_grid_recentring_every_candle(btc_15m):
    c = btc_15m[:1_200]
    fast = run_backtest("grid", {"mode": "adaptive"}, c, timeframe="15m")
    slow = naive("grid", {"mode": "adaptive"}, c, "15m")
    assert fast.fills == slow.fills and np.array_equal(fast.equity, slow.equity) and fast.metrics == slow.metrics
    assert fast.fills and len(slow.orders) > 10 * len(slow.fills)  # every re-centre re-places the entries
    assert fast.events < len(c) / 4  # ... but only the candles around the fills are stepped
    assert slow.orders == run_backtest("grid", {"mode": "adaptive"}, c, timeframe="15m",
                                       step_every_candle=True).orders
    check_books(fast, c)
