"""Small synthetic candle series whose fills, fees, trades, equity and metrics are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backtest.runner import run_backtest
from engine.candles import Candles
from engine.strategies.roles import OrderRole

MAKER, TAKER, SLIP = 0.0002, 0.0005, 0.0002


def candles(rows: list[tuple[float, float, float, float]], tf_ms: int = 60_000) -> Candles:
    a = np.array(rows, dtype=np.float64)
    ts = 1_700_000_000_000 + tf_ms * np.arange(len(a), dtype=np.int64)
    return Candles(ts, a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.ones(len(a)))


def test_grid_round_trip_by_hand():
    # levels 90 / 100 / 110; the grid starts at the close of candle 13 (ATR(14) defined) at 105: buys at 90 and 100
    rows = [(105.0, 105.0, 105.0, 105.0)] * 14
    rows += [(105.0, 105.0, 99.0, 101.0),  # 14: the buy at 100 fills at 100 (maker); its take-profit: 108
             (101.0, 109.0, 101.0, 108.0),  # 15: the sell at 108 fills at 108 (maker); 100 is re-armed
             (108.0, 108.0, 107.0, 107.5)]  # 16: nothing
    c = candles(rows)
    s = {"lower_price": 90, "upper_price": 110, "levels": 3, "adx_gate": False}
    r = run_backtest("grid", s, c, timeframe="1m", maker_fee=MAKER, taker_fee=TAKER, slippage=SLIP)
    amount = 1000 / 3 / 100
    assert r.market == "spot"
    assert [(o.role, o.side, o.price) for o in r.orders] == [
        ("grid_entry", "buy", 90.0), ("grid_entry", "buy", 100.0), ("grid_exit", "sell", 108.0),
        ("grid_entry", "buy", 100.0)]
    assert [(o.ts - c.ts[0]) // 60_000 for o in r.orders] == [13, 13, 14, 15]
    assert [(f.ts, f.side, f.price) for f in r.fills] == [(int(c.ts[14]), "buy", 100.0), (int(c.ts[15]), "sell", 108.0)]
    assert r.fills[0].amount == pytest.approx(amount) and r.fills[1].amount == pytest.approx(amount)
    fee_in, fee_out = 100 * amount * MAKER, 108 * amount * MAKER
    assert [f.fee for f in r.fills] == pytest.approx([fee_in, fee_out])
    pnl = 8 * amount - fee_in - fee_out
    m = r.metrics
    assert (m.trades, m.win_rate, m.profit_factor) == (1, 100.0, None)
    assert m.fees_paid == pytest.approx(fee_in + fee_out)
    assert m.final_equity == pytest.approx(10_000 + pnl)
    assert m.total_return_pct == pytest.approx(pnl / 100)
    # equity at each close from the start: flat, then holding `amount` marked at 101, then flat with the profit
    assert r.ts.tolist() == c.ts[13:].tolist()
    assert r.equity == pytest.approx([10_000, 10_000 - fee_in + amount * 1, 10_000 + pnl, 10_000 + pnl])
    assert m.max_drawdown_pct == 0.0  # equity only rose


def test_hyperrsi_entry_and_take_profit_by_hand():
    # a steady fall: RSI(14) = 0 < 30 from bar 14; the signal is first evaluated at the close of bar 15 (85)
    rows = [(100.0 - k, 100.0 - k, 100.0 - k, 100.0 - k) for k in range(16)]
    rows += [(84.0, 84.0, 84.0, 84.0),  # 16: the market buy fills at the open, 84·(1+slip) kept inside [84, 84]
             (84.0, 86.0, 84.0, 86.0)]  # 17: the TP at 84·1.02 = 85.68 fills at its price
    c = candles(rows)
    s = {"direction": "long", "pyramiding_enabled": False, "use_tp2": False, "use_tp3": False, "tp1_ratio": 100,
         "use_trend_close": False}
    r = run_backtest("hyperrsi", s, c, timeframe="1m", maker_fee=MAKER, taker_fee=TAKER, slippage=SLIP)
    qty = 100 * 10 / 85
    assert [(o.role, o.level, o.type, o.side) for o in r.orders] == [
        (OrderRole.ENTRY, None, "market", "buy"), (OrderRole.TAKE_PROFIT, 1, "limit", "sell")]
    assert r.orders[0].amount == pytest.approx(qty) and r.orders[1].price == pytest.approx(85.68)
    assert [(f.ts, f.side, f.price, f.reason) for f in r.fills] == [
        (int(c.ts[16]), "buy", 84.0, "rsi_threshold_long"), (int(c.ts[17]), "sell", pytest.approx(85.68), "tp1")]
    fee_in, fee_out = 84 * qty * TAKER, 85.68 * qty * MAKER
    assert [f.fee for f in r.fills] == pytest.approx([fee_in, fee_out])
    pnl = 1.68 * qty - fee_in - fee_out
    assert r.metrics.trades == 1 and r.metrics.final_equity == pytest.approx(10_000 + pnl)
    assert r.equity[-3:] == pytest.approx([10_000, 10_000 - fee_in, 10_000 + pnl])  # bars 15, 16, 17


def test_swap_short_stop_and_spot_cannot_short():
    # a steady rise: RSI = 100 > 70, so a short; a 1 % stop above the fill is hit on the next candle's spike
    rows = [(100.0 + k, 100.0 + k, 100.0 + k, 100.0 + k) for k in range(16)]
    rows += [(116.0, 116.0, 116.0, 116.0), (116.0, 118.0, 116.0, 117.0), (117.0, 117.0, 117.0, 117.0)]
    c = candles(rows)
    s = {"direction": "short", "pyramiding_enabled": False, "use_sl": True, "sl_value": 1.0, "use_trend_close": False,
         "cooldown": 5}
    r = run_backtest("hyperrsi", s, c, timeframe="1m", maker_fee=MAKER, taker_fee=TAKER, slippage=SLIP)
    assert [(f.side, f.reason) for f in r.fills] == [("sell", "rsi_threshold_short"), ("buy", "sl")]
    entry = r.fills[0].price
    assert entry == 116.0  # 116·(1 − slip) clamped up to the candle's low
    assert r.fills[1].price == pytest.approx(116 * 1.01 * (1 + SLIP))  # stop at its trigger, slipped adversely
    assert r.metrics.trades == 1 and r.metrics.win_rate == 0.0
    spot = run_backtest("hyperrsi", s, c, timeframe="1m", market="spot")
    assert spot.fills == [] and [o.role for o in spot.orders] == []  # refused: no base to sell


def test_liquidation_at_the_cross_margin_price_of_the_whole_account():
    rows = [(100.0 - k, 100.0 - k, 100.0 - k, 100.0 - k) for k in range(16)]
    rows += [(84.0, 84.0, 84.0, 84.0),  # 16: long 1000/85 at 84, leverage 10, on an account of 150
             (84.0, 84.0, 70.0, 72.0),  # 17: through the level where equity = maintenance margin: liquidated there
             (72.0, 72.0, 72.0, 72.0)]
    c = candles(rows)
    s = {"direction": "long", "pyramiding_enabled": False, "use_trend_close": False, "cooldown": 10}
    r = run_backtest("hyperrsi", s, c, timeframe="1m", maker_fee=MAKER, taker_fee=TAKER, slippage=SLIP,
                     initial_equity=150.0)
    qty = 1000 / 85
    wallet = 150 - 84 * qty * TAKER
    liq = (84 * qty - wallet) / (qty * (1 - 0.005))  # wallet + qty·(p − 84) = qty·p·0.005
    assert [(f.side, f.reason, f.fee) for f in r.fills] == [("buy", "rsi_threshold_long", pytest.approx(84 * qty * TAKER)),
                                                           ("sell", "liquidation", 0.0)]
    assert r.fills[1].price == pytest.approx(liq) and r.fills[1].amount == pytest.approx(qty)
    assert 70 < liq < 84 * (1 - 1 / 10 + 0.005)  # below the isolated-style level: the whole account backs it
    assert r.metrics.final_equity == pytest.approx(qty * liq * 0.005)  # the maintenance margin is what is left
    assert r.metrics.trades == 1 and r.metrics.win_rate == 0.0
    # the resting orders went with the position; nothing placed after
    assert (r.orders[-1].role, r.orders[-1].level) == (OrderRole.TAKE_PROFIT, 3)
    assert ("liquidation", {"count": 1, "ts": [int(c.ts[17])], "prices": [pytest.approx(liq)]}) in r.notes
    rich = run_backtest("hyperrsi", s, c, timeframe="1m", maker_fee=MAKER, taker_fee=TAKER, slippage=SLIP)
    assert [f.reason for f in rich.fills] == ["rsi_threshold_long"]  # 10,000 of equity: cross margin holds


def test_orders_below_the_market_minimum_are_refused():
    from engine.strategies.grid_ladder import MarketRules

    rows = [(100.0 - k, 100.0 - k, 100.0 - k, 100.0 - k) for k in range(16)]
    rows += [(84.0, 84.0, 84.0, 84.0), (84.0, 86.0, 84.0, 86.0), (86.0, 86.0, 86.0, 86.0)]
    c = candles(rows)
    s = {"direction": "long", "pyramiding_enabled": False, "use_tp2": False, "use_tp3": False, "tp1_ratio": 30,
         "use_trend_close": False, "leverage": 1, "use_sl": True, "sl_value": 5.0}
    r = run_backtest("hyperrsi", s, c, timeframe="1m", market_rules=MarketRules(min_cost=50.0))
    # the entry (100 USDT) and its stop (the whole position) pass; TP1 (30 % ≈ 29 USDT) is refused, so never fills
    assert [o.role for o in r.orders] == [OrderRole.ENTRY, OrderRole.STOP_LOSS]
    assert [f.role for f in r.fills] == [OrderRole.ENTRY]
    ok = run_backtest("hyperrsi", s, c, timeframe="1m", market_rules=MarketRules(min_cost=20.0))
    assert [(o.role, o.level) for o in ok.orders] == [  # TP1 fills; the stop shrinks
        (OrderRole.ENTRY, None), (OrderRole.TAKE_PROFIT, 1), (OrderRole.STOP_LOSS, 0), (OrderRole.STOP_LOSS, 0)]
    assert [(f.role, f.level) for f in ok.fills] == [(OrderRole.ENTRY, None), (OrderRole.TAKE_PROFIT, 1)]
