"""GRID's /why, pure: each candle's record names the rule that fired or held (bounds, trailing, re-centring, the ADX
gate, arming, refusals, price outside the range), with its numbers and the orders that followed; `why` the grid."""

from __future__ import annotations

import json

import pytest

from engine.strategies.grid import GridCandle, GridSettings, MarketRules, on_candle, on_fill, start
from engine.strategies.grid_why import candle_decision, start_decision, why
from engine.strategies.roles import OrderRole

RULES = MarketRules(price_step=0.01, amount_step=0.0001, min_amount=0.0001, min_cost=5)


def G(**kw) -> GridSettings:
    base = {"lower_price": 90.0, "upper_price": 110.0, "levels": 11, "investment": 1100.0}
    return GridSettings(**{**base, **kw})


def step(s: GridSettings, state, c: GridCandle, rules: MarketRules = RULES) -> tuple:
    after, intents = on_candle(s, state, c, rules)
    return after, candle_decision(s, state, c, intents, after)


def codes(rec: dict) -> list[str]:
    return [code for code, _ in rec["rules"]]


def test_start_names_the_ladder_and_its_first_orders():
    s = G()
    state, intents = start(s, RULES, 100.0)
    rec = start_decision(s, GridCandle(0, 100, 100, 100), intents, state)
    assert rec["rules"] == [["grid_started", {"levels": 11, "lo": 90.0, "hi": 110.0, "armed": 5}]]
    assert rec["orders"][0] == ["place", "grid_entry", "buy", 1.1111, 90.0]  # 100 USDT a level
    assert rec["sig"] == {"lo": 90.0, "hi": 110.0, "adx": 0, "gate": True, "pos": 0.0}
    json.dumps(rec)  # stored as JSON in the bot's state


def test_adx_gate_cancel_then_hold_then_rearm():
    s = G()
    state, _ = start(s, RULES, 100.0)
    state, rec = step(s, state, GridCandle(1, 100, 99, 100, adx_state=-2))
    assert codes(rec) == ["adx_gate_cancel"] and rec["rules"][0][1] == {"count": 5, "side": "buy", "adx": -2}
    assert [o[0] for o in rec["orders"]] == ["cancel"] * 5
    state, rec = step(s, state, GridCandle(2, 100, 99, 100, adx_state=-2))
    assert codes(rec) == ["adx_gate_holds"] and rec["rules"][0][1]["side"] == "buy" and rec["orders"] == []
    state, rec = step(s, state, GridCandle(3, 100, 99, 100, adx_state=0))
    assert codes(rec) == ["armed"] and rec["rules"][0][1] == {"count": 5}


def test_gate_off_says_nothing_of_the_adx():
    s = G(adx_gate=False)
    state, _ = start(s, RULES, 100.0)
    _, rec = step(s, state, GridCandle(1, 100, 99, 100, adx_state=-2))
    assert codes(rec) == ["waiting"] and rec["rules"][0][1] == {"entries": 5, "exits": 0}


def test_trailing_up_and_blocked_by_a_position():
    s = G(trailing_up=True)
    state, intents = start(s, RULES, 100.0)
    _, rec = step(s, state, GridCandle(1, 113.0, 109, 112.5))
    assert codes(rec)[0] == "trailing_up" and rec["rules"][0][1] == {"lo": 92.0, "hi": 112.0}
    assert rec["sig"]["lo"] == 92.0 and rec["close"] == 112.5
    bottom = next(i for i in intents if i.level == 0)
    held, _ = on_fill(s, state, 0, OrderRole.GRID_ENTRY, bottom.price, bottom.amount, 0.0, RULES)
    _, rec = step(s, held, GridCandle(1, 113.0, 109, 112.5))
    assert codes(rec) == ["trailing_blocked_by_position", "armed"] and rec["rules"][0][1] == {"level": 0}


def test_trailing_down():
    s = G(trailing_down=True, direction="neutral")
    state, _ = start(s, RULES, 100.0)
    _, rec = step(s, state, GridCandle(1, 90, 87, 87.5))
    assert codes(rec)[0] == "trailing_down" and rec["rules"][0][1] == {"lo": 88.0, "hi": 108.0}


def test_adaptive_recentre_with_its_centre():
    s = GridSettings(mode="adaptive", levels=6, investment=600)
    state, _ = start(s, RULES, 100.0, centre=100.0, atr=1.0)
    _, rec = step(s, state, GridCandle(1, 101, 99, 100.5, centre=102.0, atr=1.0))
    assert codes(rec)[0] == "recentre" and rec["rules"][0][1] == {"previous": 100.0, "centre": 102.0}
    assert rec["sig"]["centre"] == 102.0
    assert "place" in [o[0] for o in rec["orders"]] and "cancel" in [o[0] for o in rec["orders"]]


def test_a_refused_recentre_is_a_rule_with_its_numbers():
    s = GridSettings(mode="adaptive", levels=6, investment=600)
    state, _ = start(s, RULES, 100.0, centre=100.0, atr=1.0)
    _, rec = step(s, state, GridCandle(1, 101, 99, 100.5, centre=float("nan"), atr=1.0))
    assert "recentre" not in codes(rec)
    tight = MarketRules(price_step=0.01, amount_step=0.0001, min_amount=0.0001, min_cost=500)
    _, rec = step(s, state, GridCandle(1, 101, 99, 100.5, centre=102.0, atr=1.0), tight)
    below = [d for code, d in rec["rules"] if code == "below_minimum"]
    assert below and below[0]["min_cost"] == 500 and below[0]["cost"] == pytest.approx(100, rel=0.01)


def test_stop_loss_bound():
    s = G(stop_loss_price=85.0)
    state, _ = start(s, RULES, 100.0)
    after, rec = step(s, state, GridCandle(1, 99.0, 84.9, 85.5))
    assert codes(rec) == ["grid_stop_loss"] and rec["rules"][0][1]["low"] == 84.9
    rec = candle_decision(s, after, GridCandle(2, 99, 80, 90), (), after)
    assert rec["rules"] == [["stopped", {"reason": "grid_stop_loss"}]]


def test_price_outside_the_range_and_paused():
    s = G()
    state, _ = start(s, RULES, 100.0)
    c = GridCandle(1, 86, 85, 85.5, adx_state=0)
    filled = state
    for _ in range(5):  # every buy fills on the way down: nothing left to arm below
        lvl = next(lv for lv in filled.levels if lv.state == "entry_placed")
        filled, _ = on_fill(s, filled, lvl.index, OrderRole.GRID_ENTRY, lvl.order_price, lvl.amount, 0.0, RULES)
    _, rec = step(s, filled, c)
    assert codes(rec) == ["below_range"] and rec["rules"][0][1] == {"lo": 90.0}
    assert rec["sig"]["pos"] == pytest.approx(sum(lv.filled for lv in filled.levels))
    rec = candle_decision(s, state, c, (), state, paused=True)
    assert rec["rules"] == [["paused", {}]] and rec["orders"] == []


def test_many_orders_are_counted_not_listed():
    s = G(levels=40, investment=4000)
    state, intents = start(s, RULES, 100.0)
    rec = start_decision(s, GridCandle(0, 100, 100, 100), intents, state)
    assert len(rec["orders"]) == 8 and rec["more"] == len(intents) - 8


def test_why_describes_the_grid():
    s = G(trailing_up=True, stop_loss_price=80.0)
    assert why(s, None) == {"planned": False, "mode": "fixed"}
    state, intents = start(s, RULES, 100.0)
    b = intents[0]
    state, counter = on_fill(s, state, b.level, OrderRole.GRID_ENTRY, b.price, b.amount, 0.1, RULES)
    info = why(s, state, counter)
    assert (info["lo"], info["hi"], info["levels"]) == (90.0, 110.0, 11)
    assert info["states"] == {"idle": 6, "exit_placed": 1, "entry_placed": 4}
    assert info["position"] == pytest.approx(b.amount) and info["average"] == pytest.approx(b.price)
    assert info["trailing"] == ["up"] and info["stop_loss_price"] == 80.0 and info["adx_gate"] is True
    assert info["intents"][0][:2] == ("place", "grid_counter_tp")
    a = why(GridSettings(mode="adaptive", levels=6, investment=600),
            start(GridSettings(mode="adaptive", levels=6, investment=600), RULES, 100.0, centre=100.0, atr=1.0)[0])
    assert a["centre"] == 100.0 and a["recentre_every"] == 1
