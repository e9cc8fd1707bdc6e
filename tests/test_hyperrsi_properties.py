"""HYPERRSI properties over random markets: bounded exposure, profitable TPs, determinism, no orphan orders."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.strategies.hyperrsi import (
    CandleInputs,
    FillEvent,
    HyperRsiSettings,
    HyperRsiState,
    desired_orders,
    on_candle,
    on_fill,
)
from engine.strategies.intents import IntentKind
from engine.strategies.roles import OrderRole

MARKET = (IntentKind.OPEN, IntentKind.ADD, IntentKind.CLOSE)


def simulate(s: HyperRsiSettings, closes: list[float], rsis: list[float], trends: list[int]):
    """Market orders fill at the candle's close; resting orders when the next candle's range reaches them."""
    state, log, checks = HyperRsiState(), [], []
    prev_rsi = 50.0
    for i, (c, r, t) in enumerate(zip(closes, rsis, trends, strict=True)):
        hi, lo = c * 1.01, c * 0.99
        for o in desired_orders(s, state):  # resting orders first, stops before TPs (conservative)
            hit = (lo <= o.price if o.side == "sell" else hi >= o.price) if o.role == OrderRole.STOP_LOSS else \
                  (hi >= o.price if o.side == "sell" else lo <= o.price)
            if hit and state.size > 0:
                state = on_fill(s, state, FillEvent(o.role, o.price, min(o.amount, state.size), stage=o.level,
                                                    index=i)).state
                log.append((i, o.role, o.price))
        res = on_candle(s, state, CandleInputs(i, c, hi, lo, c, r, prev_rsi, c * 0.01, t))
        state = res.state
        for intent in res.intents:
            if intent.kind in MARKET:
                state = on_fill(s, state, FillEvent(intent.role, c, intent.amount, index=i)).state
                log.append((i, intent.kind.value, c))
        prev_rsi = r
        checks.append((state, desired_orders(s, state)))
    return state, log, checks


markets = st.integers(20, 120).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-0.04, 0.04), min_size=n, max_size=n),
    st.lists(st.floats(5, 95), min_size=n, max_size=n),
    st.lists(st.sampled_from([-2, 0, 0, 2]), min_size=n, max_size=n),
))
configs = st.fixed_dictionaries({
    "direction": st.sampled_from(["long", "short", "both"]),
    "rsi_entry_option": st.sampled_from(["threshold", "cross", "cross_back", "turn"]),
    "pyramiding_limit": st.integers(0, 5),
    "entry_multiplier": st.floats(0.5, 3),
    "use_sl": st.booleans(),
    "trailing_stop_active": st.booleans(),
    "tp_option": st.sampled_from(["percentage", "atr"]),
    "leverage": st.integers(1, 50),
})


def _closes(moves):
    p, out = 100.0, []
    for m in moves:
        p *= 1 + m
        out.append(p)
    return out


@settings(max_examples=80, deadline=None)
@given(markets, configs)
def test_invariants(market, cfg):
    moves, rsis, trends = market
    s = HyperRsiSettings(**cfg)
    closes = _closes(moves)
    final, log, checks = simulate(s, closes, rsis, trends)
    cap = s.investment * s.leverage * sum(s.entry_multiplier**n for n in range(s.pyramiding_limit + 1))
    for state, orders in checks:
        assert state.entries_notional <= cap * (1 + 1e-9)  # never more than the configured exposure
        if state.side == "flat":
            assert orders == []  # a closed position leaves no resting orders
        for o in orders:
            assert o.amount <= state.size * (1 + 1e-9)
            if o.role == "tp":  # every take-profit on the profitable side of the average entry
                assert (o.price > state.average) if state.side == "long" else (o.price < state.average)
    again = simulate(s, closes, rsis, trends)
    assert (final, log) == (again[0], again[1])  # same input, same output


def test_a_long_random_run_trades_and_stays_consistent():
    import random

    rng = random.Random(11)
    moves = [rng.gauss(0, 0.01) for _ in range(3000)]
    rsis = [max(1, min(99, 50 + rng.gauss(0, 18))) for _ in range(3000)]
    final, log, _ = simulate(HyperRsiSettings(use_sl=True), _closes(moves), rsis, [0] * 3000)
    kinds = {k for _, k, _ in log}
    assert {"open", "add", "tp"} <= kinds
    assert math.isfinite(final.realized_pnl)
