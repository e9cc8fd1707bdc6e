"""HYPERRSI state machine: one scenario per rule, driven the way the runtime drives it."""

from __future__ import annotations

import math

import pytest

from engine.strategies.hyperrsi import (
    CandleInputs,
    FillEvent,
    HyperRsiSettings,
    HyperRsiState,
    desired_orders,
    on_candle,
    on_fill,
    on_order_failed,
    position_gone,
    why,
)
from engine.strategies.intents import IntentKind
from engine.strategies.roles import OrderRole


def C(i, close, rsi=50.0, prev=50.0, trend=0, high=None, low=None, atr=math.nan, **kw):
    return CandleInputs(i, close, high if high is not None else close, low if low is not None else close, close,
                        rsi, prev, atr, trend, **kw)


def open_long(s: HyperRsiSettings, price=100.0, i=0):
    r = on_candle(s, HyperRsiState(), C(i, price, rsi=25))
    assert [x.kind for x in r.intents] == [IntentKind.OPEN]
    intent = r.intents[0]
    assert (intent.side, r.state.pending, r.state.side) == ("buy", "entry", "long")
    return on_fill(s, r.state, FillEvent(OrderRole.ENTRY, price, intent.amount, index=i)).state


def test_entry_sizes_from_investment_and_leverage_and_places_tps():
    s = HyperRsiSettings()
    r = on_candle(s, HyperRsiState(), C(0, 100.0, rsi=25))
    assert r.intents[0].amount == pytest.approx(100 * 10 / 100) and r.intents[0].reason == "rsi_threshold_long"
    again = on_candle(s, r.state, C(1, 100.0, rsi=20))
    assert again.intents == []  # the entry is still pending: never asked twice
    after = on_fill(s, r.state, FillEvent(OrderRole.ENTRY, 100.0, 10.0))
    placed = [(i.kind, i.reason, i.price, i.amount) for i in after.intents]
    assert placed == [(IntentKind.PLACE, "tp1", pytest.approx(102), pytest.approx(3)),
                      (IntentKind.PLACE, "tp2", pytest.approx(103), pytest.approx(3)),
                      (IntentKind.PLACE, "tp3", pytest.approx(104), pytest.approx(4))]
    assert all(i.side == "sell" and i.reduce_only for i in after.intents)


def test_10_break_even_moves():
    s = HyperRsiSettings()
    st = open_long(s)
    assert st.stop is None  # SL off by default
    r = on_fill(s, st, FillEvent(OrderRole.TAKE_PROFIT, 102.0, 3.0, stage=1))
    assert r.state.stop == 100 and r.state.stop_reason == "break_even_tp1"
    assert r.state.realized_pnl == pytest.approx(6.0)
    assert [o.reason for o in desired_orders(s, r.state)] == ["tp2", "tp3", "break_even_tp1"]
    r = on_fill(s, r.state, FillEvent(OrderRole.TAKE_PROFIT, 103.0, 3.0, stage=2))
    assert r.state.stop == pytest.approx(102) and r.state.stop_reason == "break_even_tp2"
    assert any(i.kind == IntentKind.MOVE_STOP and i.details["previous"] == 100 for i in r.intents)


def test_11_trailing_from_tp3():
    s = HyperRsiSettings(trailing_stop_active=True, trailing_start_point="tp3", trailing_stop_offset_value=0.5)
    st = open_long(s)
    assert [o.reason for o in desired_orders(s, st)] == ["tp1", "tp2"]  # TP3's share is trailed instead
    st = on_candle(s, st, C(1, 103.5, high=103.9)).state
    assert not st.trailing
    st = on_candle(s, st, C(2, 104.5, high=104.2)).state
    assert st.trailing and st.stop == pytest.approx(104.2 * 0.995)
    r = on_candle(s, st, C(3, 109.0, high=110.0))
    assert r.state.stop == pytest.approx(109.45)
    assert any(i.kind == IntentKind.MOVE_STOP and i.price == pytest.approx(109.45) for i in r.intents)
    st = on_candle(s, r.state, C(4, 109.6, high=109.8)).state
    assert st.stop == pytest.approx(109.45)  # never moves back
    # a close at 109.4 goes through the resting stop at 109.45: its fill closes the rest
    out = on_fill(s, st, FillEvent(OrderRole.STOP_LOSS, 109.45, st.size, index=5))
    assert out.state.side == "flat" and desired_orders(s, out.state) == []
    assert {i.kind for i in out.intents} == {IntentKind.CANCEL}


def test_pyramiding_adds_at_the_chained_level_with_rsi_and_size_multiplier():
    s = HyperRsiSettings()
    st = open_long(s)
    assert on_candle(s, st, C(1, 97.5, rsi=20)).intents == []  # above the 97 level
    assert on_candle(s, st, C(2, 96.9, rsi=45)).intents == []  # level reached but RSI not oversold
    assert on_candle(s, st, C(3, 96.9, rsi=20, trend=-2)).intents[0].reason == "trend_reversal"  # closes instead
    keep = HyperRsiSettings(use_trend_close=False)
    assert on_candle(keep, open_long(keep), C(3, 96.9, rsi=20, trend=-2)).intents == []  # and never adds into it
    r = on_candle(s, st, C(4, 96.9, rsi=20))
    add = r.intents[0]
    assert add.kind == IntentKind.ADD and add.level == 1 and add.amount == pytest.approx(160 * 10 / 96.9)
    st = on_fill(s, r.state, FillEvent(OrderRole.PYRAMID, 96.9, add.amount)).state
    assert st.pyramid_count == 1 and st.average == pytest.approx((1000 + 1600) / (10 + add.amount))
    tps = [o for o in desired_orders(s, st) if o.role == "tp"]
    assert tps[0].price == pytest.approx(st.average * 1.02) and tps[0].amount == pytest.approx(st.size * 0.3)


def test_pyramid_limit_is_respected():
    s = HyperRsiSettings(pyramiding_limit=1)
    st = open_long(s)
    r = on_candle(s, st, C(1, 96.0, rsi=20))
    st = on_fill(s, r.state, FillEvent(OrderRole.PYRAMID, 96.0, r.intents[0].amount)).state
    assert on_candle(s, st, C(2, 80.0, rsi=10)).intents == []


def test_use_sl_on_last_waits_for_the_last_add():
    s = HyperRsiSettings(use_sl=True, sl_value=5, use_sl_on_last=True, pyramiding_limit=1)
    st = open_long(s)
    assert st.stop is None
    r = on_candle(s, st, C(1, 96.0, rsi=20))
    st = on_fill(s, r.state, FillEvent(OrderRole.PYRAMID, 96.0, r.intents[0].amount)).state
    assert st.stop == pytest.approx(st.average * 0.95) and st.stop_reason == "sl"
    plain = open_long(HyperRsiSettings(use_sl=True, sl_value=5))
    assert plain.stop == pytest.approx(95)


def test_trend_reversal_closes_and_cooldown_blocks_reentry():
    s = HyperRsiSettings(cooldown=3)
    st = open_long(s, i=0)
    r = on_candle(s, st, C(5, 101.0, trend=-2))
    assert [(i.kind, i.reason, i.side) for i in r.intents] == [(IntentKind.CLOSE, "trend_reversal", "sell")]
    flat = on_fill(s, r.state, FillEvent(OrderRole.CLOSE, 101.0, st.size, index=6)).state
    assert flat.side == "flat" and flat.cooldown_until == 10 and flat.realized_pnl == pytest.approx(10.0)
    assert on_candle(s, flat, C(8, 100.0, rsi=10)).intents == []  # cooling down
    assert on_candle(s, flat, C(10, 100.0, rsi=10)).intents[0].kind == IntentKind.OPEN


def test_trend_close_off_keeps_the_position():
    s = HyperRsiSettings(use_trend_close=False)
    assert on_candle(s, open_long(s), C(5, 101.0, trend=-2)).intents == []


def test_entry_blocked_by_the_trend_filter_says_why():
    r = on_candle(HyperRsiSettings(), HyperRsiState(), C(0, 100.0, rsi=20, trend=-2))
    assert r.intents == [] and r.notes[0].reason == "blocked_strong_downtrend"
    assert on_candle(HyperRsiSettings(entry_option="rsi_only"), HyperRsiState(), C(0, 100.0, rsi=20, trend=-2)).intents


def test_below_minimum_skips_with_the_numbers():
    r = on_candle(HyperRsiSettings(investment=1, leverage=1), HyperRsiState(), C(0, 100.0, rsi=20, min_cost=5.0))
    assert r.intents == [] and r.notes[0].reason == "below_minimum"
    assert r.notes[0].details["cost"] == pytest.approx(1.0) and r.notes[0].details["min_cost"] == 5.0
    assert r.state == HyperRsiState()


def test_short_side_mirrors():
    s = HyperRsiSettings(direction="short", use_sl=True)
    r = on_candle(s, HyperRsiState(), C(0, 100.0, rsi=75))
    assert r.intents[0].side == "sell"
    st = on_fill(s, r.state, FillEvent(OrderRole.ENTRY, 100.0, 10.0)).state
    orders = {o.reason: o for o in desired_orders(s, st)}
    assert orders["tp1"].price == pytest.approx(98) and orders["tp1"].side == "buy"
    assert orders["sl"].price == pytest.approx(105)
    r = on_candle(s, st, C(1, 103.1, rsi=80))
    assert r.intents[0].kind == IntentKind.ADD and r.intents[0].side == "sell"


def test_rejected_entry_returns_to_flat():
    r = on_candle(HyperRsiSettings(), HyperRsiState(), C(0, 100.0, rsi=20))
    st = on_order_failed(HyperRsiSettings(), r.state, OrderRole.ENTRY, 0)
    assert st.side == "flat" and st.pending == ""
    assert on_candle(HyperRsiSettings(), st, C(1, 100.0, rsi=20)).intents


def test_why_explains():
    s = HyperRsiSettings()
    st = open_long(s)
    info = why(s, st, on_candle(s, st, C(1, 99.0)))
    assert info["side"] == "long" and info["next_add_at"] == pytest.approx(97)
    assert [r[0] for r in info["resting"]] == ["tp1", "tp2", "tp3"]


def test_an_entry_that_fills_after_the_bot_gave_it_up_is_adopted_and_protected():
    s = HyperRsiSettings(use_sl=True)
    r = on_fill(s, HyperRsiState(), FillEvent(OrderRole.ENTRY, 100.0, 10.0, side="sell"))
    assert (r.state.side, r.state.size, r.state.average) == ("short", 10.0, 100.0)
    assert r.notes[0].reason == "late_entry_fill"
    orders = desired_orders(s, r.state)
    assert {o.role for o in orders} == {OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS} and all(o.side == "buy" for o in orders)
    with pytest.raises(ValueError):  # without the order's side nothing is guessed
        on_fill(s, HyperRsiState(), FillEvent(OrderRole.ENTRY, 100.0, 10.0))


def test_a_position_gone_at_the_exchange_leaves_the_bot_flat_with_its_books():
    s = HyperRsiSettings(use_sl=True)
    st = on_fill(s, open_long(s), FillEvent(OrderRole.TAKE_PROFIT, 102.0, 3.0, stage=1)).state
    gone = position_gone(s, st, 7)
    assert (gone.side, gone.size, gone.stop) == ("flat", 0.0, None) and desired_orders(s, gone) == []
    assert (gone.realized_pnl, gone.fees) == (st.realized_pnl, st.fees)  # nothing booked for an unknown close
    assert gone.cooldown_until == 7 + 1 + s.cooldown
