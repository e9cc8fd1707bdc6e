"""The backtest account spends only what it has and is liquidated on cross margin, as the paper exchange."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backtest.runner import build, run_backtest
from engine.candles import load_csv

AUG_5_2024 = 1722816000000


@pytest.fixture(scope="module")
def btc_5m(shared_data):
    return load_csv(shared_data / "BTC_USDT-5m.csv")[:30_000]


@pytest.fixture(scope="module")
def crash_1h(shared_data):
    c = load_csv(shared_data / "BTC_USDT-1h.csv")
    k = int(np.searchsorted(c.ts, AUG_5_2024))
    return c[k - 300:k + 100]


def _grid(c, investment, **kw):
    first = float(c.close[0])
    return {"mode": "fixed", "lower_price": round(first * 0.8, 2), "upper_price": round(first * 1.2, 2),
            "levels": 20, "investment": investment, **kw}


def test_a_spot_grid_never_spends_quote_it_does_not_have(btc_5m):
    first = float(btc_5m.close[0])
    s = {"mode": "fixed", "lower_price": round(first * 0.9, 2), "upper_price": round(first * 1.1, 2), "levels": 20,
         "investment": 50_000, "direction": "long"}
    _, sim, drv, _ = build("grid", s, btc_5m, symbol="BTC/USDT", timeframe="5m", initial_equity=10_000.0,
                           maker_fee=0.0002, taker_fee=0.0005, slippage=0.0002, market="spot", market_rules=None)
    drv.begin()
    lowest, i = sim.cash, drv.first
    while (j := drv.next_event(i)) < len(btc_5m):  # cash only moves on the candles the backtest visits
        drv.process(j)
        lowest, i = min(lowest, sim.cash), j + 1
    assert lowest >= 0  # (was -34,419: resting buys were never checked against the cash)
    assert len(sim.fills) >= 10 and set(sim.refused) == {"insufficient_funds"}
    assert sim.refused["insufficient_funds"]["roles"] == ["grid_entry"]


def test_an_over_invested_swap_grid_is_refused_and_listed_and_liquidated_at_the_cross_level(btc_5m):
    r = run_backtest("grid", _grid(btc_5m, 50_000, direction="short", leverage=2), btc_5m, timeframe="5m")
    notes = dict(r.notes)
    assert notes["refused_insufficient_funds"]["orders"] > 0
    assert notes["refused_insufficient_funds"]["roles"] == ["grid_entry"]
    liq = [f for f in r.fills if f.role == "liquidation"]
    assert len(liq) == notes["liquidation"]["count"] == 1
    assert r.equity.min() > 0  # liquidated at the maintenance margin, not run into debt
    assert r.metrics.final_equity == pytest.approx(r.equity[-1])


def test_hyperrsi_at_30x_is_not_liquidated_while_the_account_backs_it(shared_data):
    c = load_csv(shared_data / "BTC_USDT-15m.csv")
    r = run_backtest("hyperrsi", {"leverage": 30}, c, timeframe="15m")
    assert len(r.fills) > 300
    assert [f for f in r.fills if f.role == "liquidation"] == []  # isolated-style: 7 liquidations on this run
    assert r.equity.min() > 9_000


@pytest.mark.parametrize("strategy,settings,equity", [
    ("grid", {"mode": "fixed", "lower_price": 55000, "upper_price": 70000, "levels": 12, "investment": 12_000,
              "leverage": 12, "direction": "long"}, 10_000.0),
    ("grid", {"mode": "fixed", "lower_price": 50000, "upper_price": 70000, "levels": 16, "investment": 30_000,
              "leverage": 3, "direction": "neutral"}, 10_000.0),
    ("grid", {"mode": "adaptive", "levels": 10, "investment": 25_000, "leverage": 5, "direction": "long"}, 10_000.0),
    ("hyperrsi", {"rsi_entry_option": "threshold", "rsi_oversold": 35, "rsi_overbought": 65, "investment": 300,
                  "leverage": 20, "use_sl": False, "direction": "long", "pyramiding_limit": 3,
                  "use_trend_close": False}, 400.0),
])
def test_skipping_candles_equals_stepping_every_candle_with_refusals(crash_1h, strategy, settings, equity):
    fast = run_backtest(strategy, settings, crash_1h, timeframe="1h", market="swap", initial_equity=equity)
    slow = run_backtest(strategy, settings, crash_1h, timeframe="1h", market="swap", initial_equity=equity,
                        step_every_candle=True)
    assert any(n[0] == "refused_insufficient_funds" for n in slow.notes)
    assert fast.fills == slow.fills
    assert np.array_equal(fast.equity, slow.equity)
    assert [n for n in fast.notes if n[0] == "liquidation"] == [n for n in slow.notes if n[0] == "liquidation"]


def test_a_spot_grid_stop_closes_the_position_its_exits_held(crash_1h):
    first = float(crash_1h.close[0])
    s = {"mode": "fixed", "lower_price": first * 0.92, "upper_price": first * 1.1, "levels": 10,
         "stop_loss_price": first * 0.89}
    r = run_backtest("grid", s, crash_1h, timeframe="1h", market="spot")
    closes = [f for f in r.fills if f.role == "close"]
    assert len(closes) == 1 and closes[0].reason == "grid_stop_loss"
    assert not r.notes  # the exits were cancelled before the close was sent: nothing refused
