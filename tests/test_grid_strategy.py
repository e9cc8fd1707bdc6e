"""GRID: the seed's worked examples, the level state machine, sizing, bounds, trailing and re-centring."""

from __future__ import annotations

import itertools
import math

import pytest
from pydantic import ValidationError

from engine.strategies.fields import describe
from engine.strategies.grid import (
    PRESETS,
    GridCandle,
    GridSettings,
    GridState,
    IllegalTransition,
    Level,
    MarketRules,
    PlanRefused,
    adaptive_levels,
    desired_orders,
    on_candle,
    on_fill,
    plan_ladder,
    preview,
    seed_levels_20,
    start,
    stop,
)
from engine.strategies.grid_levels import CANCELLED, COMPLETED, ENTRY_PLACED, EXIT_PLACED, IDLE
from engine.strategies.intents import IntentKind
from engine.strategies.roles import OrderRole

RULES = MarketRules(price_step=0.01, amount_step=0.0001, min_amount=0.0001, min_cost=5)


def G(**kw) -> GridSettings:
    base = {"lower_price": 90.0, "upper_price": 110.0, "levels": 11, "investment": 1100.0}
    return GridSettings(**{**base, **kw})


@pytest.mark.parametrize(
    ("atr", "first", "second", "eleventh", "last"),
    [(1, 88.45, 89.50, 100.0, 109.45), (0.1, 93.4, 94.0, 100.0, 105.4), (3, 71.95, 74.5, 100.0, 122.95)],
)
def test_seed_ladder_for_m_100(atr, first, second, eleventh, last):
    lv = seed_levels_20(100, atr)
    assert len(lv) == 21
    assert (lv[0], lv[1], lv[11], lv[20]) == pytest.approx((first, second, eleventh, last))
    step = lv[12] - lv[11]
    assert all(b - a == pytest.approx(step) for a, b in itertools.pairwise(lv))


def test_seed_ladder_clamps_against_the_clamped_level_below():
    """ATR 8 (step 6.3): the max-gap clamp compares each level with the level below as already clamped, so once
    level 12 is pulled to 95 the upper levels keep falling: 95, 90 … 55 (seed-grid.md §1.3), not 112.6 … 156.7."""
    lv = seed_levels_20(100, 8)
    assert lv[11] == 100.0
    assert lv[12:] == pytest.approx((95, 90, 85, 80, 75, 70, 65, 60, 55))
    assert lv[10] == pytest.approx(95.0)  # 93.7 is 7.2 % above level 9 (87.4), over 5 %: M·(1 − 0.05)
    assert lv[:10] == pytest.approx(tuple(100 - (11 - n) * 6.3 for n in range(10)))


def test_adaptive_ladder_is_symmetric_for_any_count():
    for n in (2, 7, 8, 20, 41):
        lv = adaptive_levels(100, 1, n)
        assert len(lv) == n
        assert [round(100 - p, 9) for p in lv] == [round(q - 100, 9) for q in reversed(lv)]
    assert adaptive_levels(100, 1, 4) == pytest.approx((97.9, 98.95, 101.05, 102.1))


def _filled_at(next_price: float, below: float = 98.0, fee: float = 0.1):
    s = G(fee_rate=fee)
    state = GridState(levels=(Level(0, below), Level(1, 100.0, ENTRY_PLACED, "buy", 1.0, order_price=100.0, seq=1),
                              Level(2, next_price)))
    return on_fill(s, state, 1, OrderRole.GRID_ENTRY, 100.0, 1.0, 0.0, RULES)


@pytest.mark.parametrize(("nxt", "tp"), [(101.05, 101.05), (100.2, 100.4), (110.0, 108.0)])
def test_take_profit_clamp_examples(nxt, tp):
    state, intents = _filled_at(nxt)
    exit_ = next(i for i in intents if i.details["role"] == "grid_exit")
    assert (exit_.side, exit_.price, exit_.amount, exit_.reduce_only) == ("sell", pytest.approx(tp), 1.0, True)
    assert state.levels[1].state == EXIT_PLACED and state.position == 1.0


@pytest.mark.parametrize(("below", "reentry"), [(98.0, 98.0), (99.8, 99.5)])
def test_reentry_is_at_least_half_a_percent_below(below, reentry):
    _, intents = _filled_at(101.05, below=below)
    re = next(i for i in intents if i.reason == "grid_reentry")
    assert (re.side, re.price, re.level) == ("buy", pytest.approx(reentry), 0)
    assert intents.index(re) > 0  # the take-profit is placed first


def test_short_fill_mirrors_the_clamps():
    s = G(direction="short")
    state = GridState(levels=(Level(0, 99.8), Level(1, 100.0, ENTRY_PLACED, "sell", 1.0, order_price=100.0),
                              Level(2, 100.2)))
    state, intents = on_fill(s, state, 1, OrderRole.GRID_ENTRY, 100.0, 1.0, 0.0, RULES)
    tp = intents[0]
    assert (tp.side, tp.price) == ("buy", pytest.approx(99.3))  # clamp(99.8, P·0.93, P·0.993)
    far = GridState(levels=(Level(0, 80.0), Level(1, 100.0, ENTRY_PLACED, "sell", 1.0, order_price=100.0)))
    assert on_fill(s, far, 1, OrderRole.GRID_ENTRY, 100.0, 1.0, 0.0, RULES)[1][0].price == pytest.approx(93.0)
    re = next(i for i in intents if i.reason == "grid_reentry")
    assert (re.side, re.price) == ("sell", pytest.approx(100.5))  # max(100.2, 100.5)


def test_edge_levels_never_take_profit_at_a_loss():
    s = G()
    state = GridState(levels=(Level(0, 99.0), Level(1, 100.0, ENTRY_PLACED, "buy", 1.0, order_price=100.0)))
    _, intents = on_fill(s, state, 1, OrderRole.GRID_ENTRY, 100.0, 1.0, 0.0, RULES)  # the top level: no level above
    assert intents[0].price == pytest.approx(100.4)


def test_a_cancelled_entry_that_filled_late_gets_its_take_profit():
    s = G()
    state = GridState(levels=(Level(0, 98.0), Level(1, 99.0, CANCELLED, "buy", 1.0, order_price=99.0, seq=1),
                              Level(2, 101.05)))
    state, intents = on_fill(s, state, 1, OrderRole.GRID_ENTRY, 99.0, 1.0, 0.1, RULES, side="buy")
    lvl = state.levels[1]
    assert (lvl.state, lvl.filled, lvl.entry_price, lvl.seq) == (EXIT_PLACED, 1.0, 99.0, 2)
    assert state.position == 1.0 and state.fees == pytest.approx(0.1)
    tp = intents[0]
    assert (tp.reason, tp.side, tp.amount, tp.reduce_only) == ("grid_late_fill_tp", "sell", 1.0, True)
    assert tp.price > 99.0 * (1 + s.fee) / (1 - s.fee)  # a profit after both fees
    assert [o.role for o in desired_orders(state) if o.level == 1] == ["grid_exit"]
    assert state.notes[0][0] == "late_entry_fill"


def test_a_late_entry_on_a_level_that_holds_merges_into_one_take_profit():
    s = G()
    state = GridState(levels=(Level(0, 98.0), Level(1, 99.0, EXIT_PLACED, "buy", 1.0, 1.0, 99.0, 100.0, seq=2),
                              Level(2, 101.05)), position=1.0)
    state, intents = on_fill(s, state, 1, OrderRole.GRID_ENTRY, 98.0, 0.5, 0.0, RULES, side="buy")
    lvl = state.levels[1]
    assert (lvl.state, lvl.filled, lvl.seq) == (EXIT_PLACED, 1.5, 3)
    assert lvl.entry_price == pytest.approx((99.0 + 49.0) / 1.5) and state.position == 1.5
    assert (intents[0].amount, intents[0].side) == (1.5, "sell")  # the new exit covers it all; sync drops the old
    with pytest.raises(IllegalTransition):  # a late fill of the other side on a held level is not guessed at
        on_fill(s, state, 1, OrderRole.GRID_ENTRY, 101.0, 0.5, 0.0, RULES, side="sell")


def test_a_neutral_level_that_changed_sides_adopts_the_late_fill_of_its_old_side():
    s = G(direction="neutral")
    state = GridState(levels=(Level(0, 98.0), Level(1, 99.0, ENTRY_PLACED, "sell", 1.0, order_price=99.0, seq=3),
                              Level(2, 101.05)))
    state, _ = on_fill(s, state, 1, OrderRole.GRID_ENTRY, 99.0, 1.0, 0.0, RULES, side="buy")
    assert state.levels[1].side == "buy" and state.levels[1].state == EXIT_PLACED and state.position == 1.0
    assert [(o.role, o.side) for o in desired_orders(state) if o.level == 1] == [("grid_exit", "sell")]


def test_a_late_entry_on_a_stopped_grid_is_left_to_the_runtime():
    s = G()
    state = GridState(levels=(Level(0, 98.0), Level(1, 99.0)), stopped="user_stop")
    with pytest.raises(IllegalTransition):
        on_fill(s, state, 1, OrderRole.GRID_ENTRY, 99.0, 1.0, 0.0, RULES, side="buy")


def test_full_cycle_books_profit_after_fees_and_rearms():
    s = G()
    state, intents = start(s, RULES, 100.0)
    buys = [i for i in intents if i.side == "buy"]
    assert len(buys) == 5 and all(i.price < 100 for i in buys) and not [i for i in intents if i.side == "sell"]
    lvl = buys[-1]  # the 98 level
    fee_in = lvl.amount * 98 * 0.001
    state, counter = on_fill(s, state, lvl.level, OrderRole.GRID_ENTRY, 98.0, lvl.amount, fee_in, RULES)
    assert counter[0].price == pytest.approx(100.0) and counter[0].side == "sell"
    fee_out = lvl.amount * 100 * 0.001
    state, rearm = on_fill(s, state, lvl.level, OrderRole.GRID_EXIT, 100.0, lvl.amount, fee_out, RULES)
    assert state.realized_pnl == pytest.approx(2 * lvl.amount - fee_in - fee_out)
    assert state.position == pytest.approx(0)
    assert rearm[0].reason == "grid_rearm" and rearm[0].price == pytest.approx(98.0)
    assert rearm[0].details["seq"] == 3  # entry 1, exit 2, re-entry 3: deterministic client ids


def test_illegal_transitions_raise():
    lvl = Level(0, 100.0)
    with pytest.raises(IllegalTransition):
        lvl.to(EXIT_PLACED)
    with pytest.raises(IllegalTransition):
        lvl.to(ENTRY_PLACED).to(COMPLETED)
    assert lvl.to(ENTRY_PLACED).to("cancelled").to(IDLE).state == IDLE
    s = G()
    state, _ = start(s, RULES, 100.0)
    with pytest.raises(IllegalTransition):
        on_fill(s, state, 0, OrderRole.GRID_EXIT, 90.0, 1.0, 0.0, RULES)


def test_below_minimum_refuses_the_plan_with_numbers():
    with pytest.raises(PlanRefused) as e:
        start(G(investment=50, levels=20), MarketRules(min_cost=5), 100.0)
    assert e.value.reason == "below_minimum" and e.value.details["cost"] == pytest.approx(2.5)


def test_ticks_that_merge_levels_refuse_the_plan():
    with pytest.raises(PlanRefused, match="collide"):
        plan_ladder(G(lower_price=100, upper_price=100.05, levels=11), RULES)


def test_neutral_places_both_sides_and_never_the_wrong_side():
    _, intents = start(G(direction="neutral"), RULES, 100.0)
    assert {(i.side, i.price < 100) for i in intents} == {("buy", True), ("sell", False)}
    assert all(i.price != 100.0 for i in intents)


def test_stop_loss_bound_cancels_everything_and_closes():
    s = G(stop_loss_price=85.0)
    state, intents = start(s, RULES, 100.0)
    b = next(i for i in intents if i.price == pytest.approx(98.0))
    state, _ = on_fill(s, state, b.level, OrderRole.GRID_ENTRY, 98.0, b.amount, 0.0, RULES)
    state, out = on_candle(s, state, GridCandle(1, 99.0, 84.9, 85.5), RULES)
    kinds = [i.kind for i in out]
    assert kinds.count(IntentKind.CLOSE) == 1 and out[0].kind == IntentKind.CLOSE
    assert kinds.count(IntentKind.CANCEL) == 5  # 4 buys + the exit
    assert state.stopped == "grid_stop_loss" and desired_orders(state) == []
    assert on_candle(s, state, GridCandle(2, 99, 80, 90), RULES) == (state, [])


def test_trailing_up_places_before_it_cancels():
    s = G(trailing_up=True)
    state, _ = start(s, RULES, 100.0)
    state, out = on_candle(s, state, GridCandle(1, 113.0, 109, 112.5), RULES)
    assert state.levels[-1].price == pytest.approx(112.0) and state.levels[0].price == pytest.approx(92.0)
    places = [i for i in out if i.kind == IntentKind.PLACE]
    cancels = [i for i in out if i.kind == IntentKind.CANCEL]
    assert cancels[0].level == 0 and out.index(cancels[0]) > out.index(places[-1])
    assert state.levels[-1].index == 11  # a new id, so client ids never repeat


def test_adaptive_recenter_keeps_filled_levels_take_profit():
    s = GridSettings(mode="adaptive", levels=6, investment=600)
    state, intents = start(s, RULES, 100.0, centre=100.0, atr=1.0)
    lvl = [i for i in intents if i.side == "buy"][-1]
    state, _counter = on_fill(s, state, lvl.level, OrderRole.GRID_ENTRY, lvl.price, lvl.amount, 0.0, RULES)
    tp_before = [o for o in desired_orders(state) if o.role == "grid_exit"]
    state, out = on_candle(s, state, GridCandle(1, 101, 99, 100.5, centre=102.0, atr=1.0), RULES)
    tp_after = [o for o in desired_orders(state) if o.role == "grid_exit"]
    assert tp_after == tp_before  # the filled level's take-profit is untouched
    moved = [i for i in out if i.reason == "grid_recenter"]
    assert moved and all(out.index(i) < min(out.index(c) for c in out if c.kind == IntentKind.CANCEL) for i in moved)
    assert state.centre == 102.0


def test_adx_gate_blocks_counter_trend_entries():
    s = G()
    state, _ = start(s, RULES, 100.0)
    state, out = on_candle(s, state, GridCandle(1, 100, 99, 100, adx_state=-2), RULES)
    assert {i.kind for i in out} == {IntentKind.CANCEL} and not desired_orders(state)
    state, out = on_candle(s, state, GridCandle(2, 100, 99, 100, adx_state=0), RULES)
    assert len([i for i in out if i.kind == IntentKind.PLACE]) == 5


def test_user_stop_keeps_or_closes():
    s = G()
    state, intents = start(s, RULES, 100.0)
    b = intents[0]
    state, _ = on_fill(s, state, b.level, OrderRole.GRID_ENTRY, b.price, b.amount, 0.0, RULES)
    _, keep = stop(s, state, close_position=False)
    assert IntentKind.CLOSE not in {i.kind for i in keep}
    _, close = stop(s, state, close_position=True)
    assert next(i for i in close if i.kind == IntentKind.CLOSE).amount == pytest.approx(b.amount)


def test_preview_numbers():
    p = preview(G(), RULES, 100.0)
    assert p.levels[0] == 90 and p.levels[-1] == 110 and len(p.amounts) == 11
    assert p.amounts[0] == pytest.approx(round(100 / 90, 4), abs=1e-4)
    # the top level has no next level: its take-profit is the clamp's minimum, 110 × 1.004 = 110.44; the best is
    # level 90, whose take-profit is the next level, 92 (within the clamp 90 × 1.004 .. 90 × 1.08)
    assert p.profit_per_grid_pct == pytest.approx(((110.44 * 0.999 - 110 * 1.001) / 110 * 100,
                                                   (92 * 0.999 - 90 * 1.001) / 90 * 100))
    assert p.capital_needed == pytest.approx(sum(a * q for a, q in zip(p.amounts, p.levels, strict=True)) * 1.001)
    assert p.fee_rate == 0.001


TIGHT = {"lower_price": 100.0, "upper_price": 102.0, "levels": 11, "investment": 1100.0}  # 0.2 % apart


def test_preview_profit_follows_the_take_profit_clamp():
    """Levels 0.2 % apart: the next level is nearer than tp_min_pct (0.4 %), so the take-profit is the fill × 1.004
    rounded up to the tick. At 100 it is 100.40: (100.40 × 0.999 − 100 × 1.001) / 100 = +0.1996 % per grid
    (the preview said about 0.00 %, pricing the next level, 100.20); the best is at 100.20 → 100.61 (100.6008 up
    to the tick): (100.61 × 0.999 − 100.2 × 1.001) / 100.2 = +0.20877 %."""
    rules = MarketRules(price_step=0.01, amount_step=0.0001)
    p = preview(G(**TIGHT), rules, 101.0)
    assert p.profit_per_grid_pct == pytest.approx((0.1996, (100.61 * 0.999 - 100.2 * 1.001) / 100.2 * 100))
    a100 = round(100 / 100, 4)  # 1100 / 11 levels = 100 USDT a level: 1 at 100
    assert p.profit_per_grid_quote[0] == pytest.approx((100.4 * 0.999 - 100 * 1.001) * a100)


def test_preview_uses_the_market_fee():
    """The market's maker fee (0.02 %) instead of the 0.1 % setting: at 100 → 100.40,
    (100.40 × 0.9998 − 100 × 1.0002) / 100 = +0.35992 %; capital = notional × (1 + 0.0002)."""
    rules = MarketRules(price_step=0.01, amount_step=0.0001)
    p = preview(G(**TIGHT), rules, 101.0, maker_fee=0.0002)
    assert p.fee_rate == 0.0002
    assert p.profit_per_grid_pct[0] == pytest.approx(0.35992)
    notional = sum(a * q for a, q in zip(p.amounts, p.levels, strict=True))
    assert p.capital_needed == pytest.approx(notional * 1.0002)


def test_preview_short_and_neutral_use_the_short_clamp():
    """Short take-profits sit at fill × (1 − 0.7 %) at least, down to the tick: a sell at 100 buys back at 99.30,
    (100 × 0.999 − 99.30 × 1.001) / 100 = +0.5007 % (the worst level: no rounding gain). A neutral grid at 101 buys
    at and below it and sells above: its worst is the long side's."""
    rules = MarketRules(price_step=0.01, amount_step=0.0001)
    short = preview(G(**TIGHT, direction="short", short_tp_min_pct=0.7), rules, 101.0)
    assert short.profit_per_grid_pct[0] == pytest.approx(0.5007)
    neutral = preview(G(**TIGHT, direction="neutral"), rules, 101.0)
    long = preview(G(**TIGHT), rules, 101.0)
    assert neutral.profit_per_grid_pct[0] == pytest.approx(min(long.profit_per_grid_pct[0], short.profit_per_grid_pct[0]))


@pytest.mark.parametrize(("kw", "msg"), [({"lower_price": 120}, "lower_price < upper_price"),
                                         ({"stop_loss_price": 95}, "outside the grid"),
                                         ({"tp_min_pct": 0.1}, "round-trip fees"),
                                         ({"levels": 1}, "greater than or equal to 2")])
def test_bad_settings(kw, msg):
    with pytest.raises(ValidationError, match=msg):
        G(**kw)


def test_settings_are_described_and_presets_valid():
    specs = {s.name: s for s in describe(GridSettings)}
    assert set(specs) == set(GridSettings.model_fields)
    assert specs["levels"].minimum == 2 and specs["direction"].choices == ("long", "short", "neutral")
    for preset in PRESETS.values():
        G(**preset)
    assert math.isclose(G().fee, 0.001)


def test_what_a_step_cannot_do_is_told_not_dropped():
    s = G(trailing_up=True)
    state, intents = start(s, RULES, 100.0)
    bottom = next(i for i in intents if i.level == 0)
    state, _ = on_fill(s, state, 0, OrderRole.GRID_ENTRY, bottom.price, bottom.amount, 0.0, RULES)
    state, _ = on_candle(s, state, GridCandle(1, 113.0, 109, 112.5), RULES)
    assert state.notes == (("trailing_blocked_by_position", {"level": 0}),)
    assert state.levels[0].price == 90.0  # the level holding a position is not dropped
    state, _ = on_candle(s, state, GridCandle(2, 101.0, 99, 100), RULES)
    assert state.notes == ()  # notes belong to the step that made them
