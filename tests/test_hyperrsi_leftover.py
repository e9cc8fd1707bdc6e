"""HYPERRSI leaves no position behind: whole-lot take-profits, the last one takes the rest, leftovers are closed."""

from __future__ import annotations

import pytest

from engine.backtest.runner import run_backtest
from engine.candles import load_csv
from engine.strategies.grid_ladder import MarketRules
from engine.strategies.hyperrsi import (
    CandleInputs,
    FillEvent,
    HyperRsiSettings,
    HyperRsiState,
    desired_orders,
    leftover,
    on_candle,
    on_fill,
    on_order_failed,
)
from engine.strategies.intents import IntentKind
from engine.strategies.roles import OrderRole

LOT = 0.00001
NO_TRAIL = {"trailing_stop_active": False, "tp1_value": 0.5, "tp2_value": 1.0, "tp3_value": 1.5}
BUSY = {"rsi_entry_option": "threshold", "rsi_oversold": 30, "rsi_overbought": 70, "entry_option": "rsi_only",
        "investment": 100, "leverage": 10, **NO_TRAIL}


def C(i: int, close: float, **kw) -> CandleInputs:
    return CandleInputs(i, close, close, close, close, kw.pop("rsi", 50.0), kw.pop("rsi_prev", 50.0), lot=LOT, **kw)


def long_of(s: HyperRsiSettings, amount: float) -> HyperRsiState:
    st = on_candle(s, HyperRsiState(), C(0, 100.0, rsi=20, rsi_prev=35)).state
    return on_fill(s, st, FillEvent(OrderRole.ENTRY, 100.0, amount, side="buy")).state


def test_take_profit_shares_are_whole_lots_and_the_last_takes_the_rest():
    s = HyperRsiSettings(**NO_TRAIL)
    st = long_of(s, 0.02307)
    tps = [o for o in desired_orders(s, st) if o.role == OrderRole.TAKE_PROFIT]
    assert [round(o.amount / LOT, 6) for o in tps] == [692, 692, 923]
    assert sum(o.amount for o in tps) == pytest.approx(st.size, abs=1e-12)
    # TP2 and TP3 fill in the same candle as TP1: nothing is left
    for o in tps:
        st = on_fill(s, st, FillEvent(OrderRole.TAKE_PROFIT, o.price, o.amount, stage=o.level, index=1)).state
    assert st.side == "flat" and st.size == 0


def test_a_leftover_after_the_last_take_profit_is_closed_at_market_on_the_next_candle():
    s = HyperRsiSettings(**NO_TRAIL)
    st = long_of(s, 0.01)
    for k, amount in ((1, 0.003), (2, 0.003), (3, 0.00398)):  # the exchange filled TP3 two lots short
        st = on_fill(s, st, FillEvent(OrderRole.TAKE_PROFIT, 101.0, amount, stage=k, index=1)).state
    assert st.size == pytest.approx(0.00002) and leftover(s, st, LOT) == "remainder"
    r = on_candle(s, st, C(2, 101.0))
    assert [(i.kind, i.reason, i.amount) for i in r.intents] == [(IntentKind.CLOSE, "tp_remainder", st.size)]
    closed = on_fill(s, r.state, FillEvent(OrderRole.CLOSE, 101.0, st.size, index=3)).state
    assert closed.side == "flat"


def test_a_leftover_no_order_can_take_frees_the_bot():
    s = HyperRsiSettings(**NO_TRAIL)
    st = long_of(s, 0.01)
    for k, amount in ((1, 0.003), (2, 0.003), (3, 0.00398)):
        st = on_fill(s, st, FillEvent(OrderRole.TAKE_PROFIT, 101.0, amount, stage=k, index=1)).state
    r = on_candle(s, st, C(2, 101.0))
    freed = on_order_failed(s, r.state, OrderRole.CLOSE, 2)
    assert freed.side == "flat" and freed.size == 0 and freed.pending == ""
    assert on_candle(s, freed, C(2 + s.cooldown + 1, 100.0, rsi=20, rsi_prev=35)).intents  # trades again


def test_less_than_a_lot_is_dust_and_flat():
    s = HyperRsiSettings(**NO_TRAIL)
    st = long_of(s, 0.01)
    st = on_fill(s, st, FillEvent(OrderRole.TAKE_PROFIT, 101.0, 0.009995, stage=1, index=1)).state
    r = on_candle(s, st, C(2, 101.0))
    assert r.state.side == "flat" and [n.reason for n in r.notes] == ["dust_left"]


def test_trailing_offset_is_floored_at_a_tenth_of_a_percent():
    s = HyperRsiSettings(trailing_stop_active=True, trailing_start_point="tp1", trailing_stop_offset_value=0.05,
                         tp1_value=0.5)
    st = long_of(s, 1.0)
    st = on_candle(s, st, CandleInputs(1, 101, 101, 101, 101, 50.0, 50.0, lot=LOT)).state
    assert st.trailing and st.stop == pytest.approx(101 * (1 - 0.001))


@pytest.mark.parametrize("lot", [0.00001, 0.001])
def test_on_a_lot_sized_market_it_keeps_trading_and_never_holds_a_leftover(shared_data, lot):
    """Seen: with a 5 USDT minimum, TP shares truncated to the lot left ~0.002 of the position that no order could
    carry; the bot never re-entered (964 trades became 14 on 8 months of 5m candles)."""
    c = load_csv(shared_data / "BTC_USDT-5m.csv")
    free = run_backtest("hyperrsi", BUSY, c, timeframe="5m")
    rules = MarketRules(price_step=0.1, amount_step=lot, min_amount=lot, min_cost=5.0)
    r = run_backtest("hyperrsi", BUSY, c, timeframe="5m", market_rules=rules)
    assert r.metrics.trades >= 0.9 * free.metrics.trades, (r.metrics.trades, free.metrics.trades)
    tf = 300_000
    pos, last_tp = 0.0, None
    for f in r.fills:
        if last_tp is not None:  # the leftover of the last take-profit is gone by the next candle's fills
            assert f.ts <= last_tp + 2 * tf and f.role in (OrderRole.CLOSE, OrderRole.STOP_LOSS), (last_tp, f)
            last_tp = None
        pos += f.amount if f.side == "buy" else -f.amount
        if abs(pos) < lot / 2:
            pos = 0.0
        if (f.role, f.level) == (OrderRole.TAKE_PROFIT, 3) and pos != 0.0:
            last_tp = f.ts
    assert last_tp is None
