"""GRID properties on random markets: ordered levels in bounds, profitable counters, bounded exposure, determinism."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.strategies.grid import (
    GridCandle,
    GridSettings,
    MarketRules,
    PlanRefused,
    desired_orders,
    on_candle,
    on_fill,
    plan_ladder,
    start,
)
from engine.strategies.grid_levels import ENTRY_FILLED, EXIT_PLACED
from engine.strategies.roles import OrderRole

RULES = MarketRules(price_step=0.01, amount_step=1e-6, min_amount=1e-6, min_cost=1)


def run(s: GridSettings, path: list[float]):
    state, _ = start(s, RULES, path[0], centre=path[0], atr=path[0] * 0.01)
    snapshots = []
    for i, (a, b) in enumerate(itertools.pairwise(path), 1):
        hi, lo = max(a, b) * 1.002, min(a, b) * 0.998
        for o in sorted(desired_orders(state), key=lambda o: (o.role != OrderRole.GRID_EXIT, o.level)):
            if lo <= o.price <= hi and not state.stopped:
                state, _ = on_fill(s, state, o.level, o.role, o.price, o.amount, o.price * o.amount * s.fee, RULES)
        state, _ = on_candle(s, state, GridCandle(i, hi, lo, b, centre=b, atr=b * 0.01), RULES)
        snapshots.append(state)
    return state, snapshots


configs = st.fixed_dictionaries({
    "direction": st.sampled_from(["long", "short", "neutral"]),
    "levels": st.integers(3, 30),
    "spacing": st.sampled_from(["arithmetic", "geometric"]),
    "leverage": st.integers(1, 10),
    "fee_rate": st.sampled_from([0.0, 0.05, 0.1]),
    "mode": st.sampled_from(["fixed", "adaptive"]),
})
paths = st.lists(st.floats(-0.03, 0.03), min_size=5, max_size=80)


def _path(moves):
    p, out = 100.0, [100.0]
    for m in moves:
        p *= 1 + m
        out.append(p)
    return out


@settings(max_examples=120, deadline=None)
@given(configs, st.floats(0.05, 0.4), st.floats(0.05, 0.4), paths)
def test_grid_invariants(cfg, down, up, moves):
    s = GridSettings(lower_price=100 * (1 - down), upper_price=100 * (1 + up), investment=5000, **cfg)
    try:
        levels = plan_ladder(s, RULES, centre=100.0, atr=1.0)
    except PlanRefused:
        return
    assert all(a < b for a, b in itertools.pairwise(levels))
    if s.mode == "fixed":
        assert levels[0] >= s.lower_price - 0.005 and levels[-1] <= s.upper_price + 0.005
    final, snaps = run(s, _path(moves))
    f = s.fee
    for state in snaps:
        exposure = 0.0
        for lvl in state.levels:
            if lvl.state in (ENTRY_FILLED, EXIT_PLACED):
                assert lvl.state == EXIT_PLACED  # a filled level always has its take-profit resting
            if lvl.state == EXIT_PLACED:  # the counter order is profitable after fees on both legs
                if lvl.side == "buy":
                    assert lvl.order_price * (1 - f) > lvl.entry_price * (1 + f)
                else:
                    assert lvl.order_price * (1 + f) < lvl.entry_price * (1 - f)
            exposure += lvl.amount * (lvl.order_price if lvl.state != EXIT_PLACED else lvl.entry_price) \
                if lvl.state in ("entry_placed", EXIT_PLACED) else 0.0
        assert exposure <= s.investment * s.leverage * 1.02  # rounding and re-centred prices only
        for o in desired_orders(state):
            assert o.amount > 0
    assert run(s, _path(moves))[0] == final  # deterministic
