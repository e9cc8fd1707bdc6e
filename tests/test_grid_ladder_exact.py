"""Fixed ladders are exact at their bounds: no float drift past them, with or without a tick, on random configs."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.strategies.grid_ladder import MarketRules, PlanRefused, fixed_levels, plan_ladder
from engine.strategies.grid_settings import GridSettings


def _grid(lo: float, hi: float, n: int, spacing: str) -> GridSettings:
    return GridSettings(lower_price=lo, upper_price=hi, levels=n, spacing=spacing, investment=1000.0)


def test_the_seen_geometric_refusal():
    """0.5 .. 0.68 over 30 geometric levels: the top level came out 0.6800000000000022 and the plan was refused."""
    s = _grid(0.5, 0.68, 30, "geometric")
    levels = plan_ladder(s, MarketRules())
    assert levels[0] == 0.5 and levels[-1] == 0.68 and len(levels) == 30


bounds = st.tuples(st.floats(1e-6, 1e6), st.floats(1.001, 5.0)).map(lambda t: (t[0], t[0] * t[1]))


@settings(max_examples=400, deadline=None)
@given(bounds, st.integers(2, 200), st.sampled_from(["arithmetic", "geometric"]))
def test_without_a_tick_first_and_last_are_the_bounds(lohi, n, spacing):
    lo, hi = lohi
    s = _grid(lo, hi, n, spacing)
    raw = fixed_levels(s)
    assert raw[0] == lo and raw[-1] == hi and len(raw) == n
    assert all(b > a for a, b in itertools.pairwise(raw))
    try:
        levels = plan_ladder(s, MarketRules())
    except PlanRefused as e:  # only a genuine collision is refused, never the bounds
        assert e.reason == "levels_collide_after_rounding", e
        return
    assert levels[0] == lo and levels[-1] == hi


@settings(max_examples=400, deadline=None)
@given(bounds, st.integers(2, 120), st.sampled_from(["arithmetic", "geometric"]),
       st.sampled_from([1e-8, 1e-5, 0.0001, 0.001, 0.01, 0.1, 0.5, 1.0, 10.0]))
def test_with_a_tick_levels_stay_inside_the_bounds_on_the_tick(lohi, n, spacing, tick):
    lo, hi = lohi
    assume(hi - lo > tick * 2)
    s = _grid(lo, hi, n, spacing)
    try:
        levels = plan_ladder(s, MarketRules(price_step=tick))
    except PlanRefused as e:
        assert e.reason == "levels_collide_after_rounding", e
        assert (hi - lo) / tick < n * 4  # a refusal only when the range is a few ticks per level at most
        return
    assert lo <= levels[0] <= lo + tick and hi - tick <= levels[-1] <= hi  # never past a bound
    assert all(b > a for a, b in itertools.pairwise(levels))
    for p in levels:
        k = p / tick
        assert abs(k - round(k)) <= max(1e-6, k * 1e-12), (p, tick)  # a multiple of the tick, up to float ulps


@pytest.mark.parametrize(("lo", "hi", "tick", "first", "last"), [
    (0.68, 0.9, 0.0001, 0.68, 0.9),  # on the tick: kept exactly (0.68 / 0.0001 = 6800.000000000001)
    (90.004, 109.996, 0.01, 90.01, 109.99),  # off the tick: rounded inwards, never past a bound
])
def test_bounds_on_and_off_the_tick(lo, hi, tick, first, last):
    levels = plan_ladder(_grid(lo, hi, 11, "geometric"), MarketRules(price_step=tick))
    assert (levels[0], levels[-1]) == (first, last)
