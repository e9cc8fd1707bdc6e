"""HYPERRSI's /why, pure: each candle's record names the rule that fired or blocked, and says what the strategy did."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace

import pytest

from engine.strategies.hyperrsi import CandleInputs, FillEvent, HyperRsiSettings, HyperRsiState, on_candle, on_fill
from engine.strategies.hyperrsi_why import candle_decision
from engine.strategies.intents import IntentKind
from engine.strategies.roles import OrderRole
from engine.strategies.runner_hyperrsi import HyperRsiRunner


def C(i, close, rsi=50.0, prev=50.0, trend=0, atr=math.nan, **kw):
    return CandleInputs(i, close, close, close, close, rsi, prev, atr, trend, **kw)


def decide(s: HyperRsiSettings, state: HyperRsiState, c: CandleInputs, paused: bool = False) -> tuple:
    runner = HyperRsiRunner(s, state)
    st = runner.on_candle(c, paused=paused)
    return runner.state, st, candle_decision(s, state, c, st.intents, st.notes, runner.state, paused)


def open_long(s: HyperRsiSettings, price=100.0) -> HyperRsiState:
    r = on_candle(s, HyperRsiState(), C(0, price, rsi=25))
    return on_fill(s, r.state, FillEvent(OrderRole.ENTRY, price, r.intents[0].amount)).state


def code(rec: dict) -> str:
    return rec["rules"][0][0]


def test_trend_filter_block_is_named_with_the_signal_values():
    _, _, rec = decide(HyperRsiSettings(), HyperRsiState(), C(7, 100.0, rsi=20, prev=33, trend=-2))
    assert rec["rules"] == [["blocked_strong_downtrend", {"side": "long", "trend": -2}]]
    assert rec["sig"] == {"rsi": 20, "rsi_prev": 33, "trend": -2} and rec["orders"] == []
    _, _, rec = decide(HyperRsiSettings(), HyperRsiState(), C(7, 100.0, rsi=80, trend=2))
    assert rec["rules"] == [["blocked_strong_uptrend", {"side": "short", "trend": 2}]]
    json.dumps(rec)


def test_entry_no_signal_cooldown_paused_and_below_minimum():
    s = HyperRsiSettings()
    _, _, rec = decide(s, HyperRsiState(), C(0, 100.0, rsi=25))
    assert rec["rules"] == [["entry", {"side": "long", "amount": 10.0, "price": 100.0}]]
    assert rec["orders"] == [["open", "entry", "buy", 10.0, None]]
    _, _, rec = decide(s, HyperRsiState(), C(0, 100.0, rsi=45))
    assert rec["rules"] == [["no_signal", {"mode": "threshold", "direction": "both", "oversold": 30.0,
                                           "overbought": 70.0}]]
    _, _, rec = decide(s, HyperRsiState(cooldown_until=9), C(6, 100.0, rsi=25))
    assert rec["rules"] == [["cooldown", {"left": 3}]]
    _, _, rec = decide(s, HyperRsiState(), C(0, 100.0, rsi=25), paused=True)
    assert rec["rules"] == [["paused", {}]]
    _, _, rec = decide(HyperRsiSettings(investment=1, leverage=1), HyperRsiState(), C(0, 100.0, rsi=25, min_cost=5.0))
    assert code(rec) == "below_minimum" and rec["rules"][0][1]["min_cost"] == 5.0


def test_position_rules():
    s = HyperRsiSettings()
    st = open_long(s)
    _, _, rec = decide(s, st, C(1, 99.0))
    assert rec["rules"] == [["add_level_not_reached", {"add_at": pytest.approx(97.0), "price": 99.0}]]
    _, _, rec = decide(s, st, C(1, 96.0, rsi=40))
    assert code(rec) == "add_needs_rsi"
    _, _, rec = decide(s, st, C(1, 96.0, rsi=25))
    assert code(rec) == "pyramid_add" and rec["orders"][0][:3] == ["add", "pyramid", "buy"]
    _, _, rec = decide(s, st, C(1, 96.0, rsi=25), paused=True)
    assert code(rec) == "paused_no_add"
    _, _, rec = decide(s, st, C(1, 101.0, trend=-2))
    assert rec["rules"] == [["trend_reversal", {"trend": -2}]] and rec["orders"][0][:3] == ["close", "close", "sell"]
    _, _, rec = decide(s, replace(st, pyramid_count=3), C(1, 96.0, rsi=25))
    assert rec["rules"] == [["pyramiding_limit", {"n": 3, "limit": 3}]]
    _, _, rec = decide(s, replace(st, pending="add"), C(1, 96.0))
    assert rec["rules"] == [["waiting_for_fill", {"order": "add"}]]


def test_trailing_move_is_a_rule_beside_the_add_check():
    s = HyperRsiSettings(trailing_stop_active=True, trailing_stop_offset_value=0.5)
    st = open_long(s)
    after, _, rec = decide(s, st, C(1, 120.0))
    assert after.trailing and code(rec) == "trailing_moved"
    assert rec["rules"][0][1]["stop"] == pytest.approx(after.stop)
    assert [r[0] for r in rec["rules"]][1] == "add_level_not_reached"


@pytest.mark.parametrize("seed", range(3))
def test_the_record_says_what_the_strategy_did(seed):
    """Over random candles the record's rule agrees with the intents: an entry rule iff an OPEN, an add rule iff an
    ADD, a close rule iff a CLOSE; a pyramid check never claims to block an add the strategy asked for."""
    rng = random.Random(seed)
    s = HyperRsiSettings(use_sl=True, trailing_stop_active=rng.random() < 0.5, cooldown=2,
                         pyramiding_limit=rng.choice([1, 3]), use_rsi_with_pyramiding=rng.random() < 0.5)
    state, price = HyperRsiState(), 100.0
    seen = set()
    for i in range(400):
        price *= 1 + rng.gauss(0, 0.01)
        c = C(i, price, rsi=rng.uniform(10, 90), prev=rng.uniform(10, 90), trend=rng.choice([-2, 0, 0, 0, 2]),
              atr=price * 0.01)
        state, st, rec = decide(s, state, c, paused=rng.random() < 0.1)
        kinds = {x.kind for x in st.intents}
        codes = [r[0] for r in rec["rules"]]
        seen.update(codes)
        assert (IntentKind.OPEN in kinds) == ("entry" in codes)
        assert (IntentKind.ADD in kinds) == ("pyramid_add" in codes)
        assert (IntentKind.CLOSE in kinds) == bool({"trend_reversal", "tp_remainder"} & set(codes))
        for x in st.intents:  # fill the market orders at once, as a paper account would
            if x.kind in (IntentKind.OPEN, IntentKind.ADD, IntentKind.CLOSE):
                state = on_fill(s, state, FillEvent(x.role, price, x.amount, index=i, side=x.side)).state
    assert {"entry", "no_signal", "cooldown", "add_level_not_reached"} <= seen, seen
    assert len(seen) >= 6
