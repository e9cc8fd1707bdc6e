"""engine/strategies/risk.py against hand computations: HYPERRSI's entry and three adds at 1.6× with a percentage
stop at 10×, a stop beyond the liquidation price flagged, GRID's liquidation with every level filled; the sizes are
the ones the strategy itself sends and the liquidation is the project's margin model on an isolated wallet."""

from __future__ import annotations

import math

import pytest

from engine.exchange import margin
from engine.strategies import hyperrsi
from engine.strategies.grid_ladder import MarketRules
from engine.strategies.grid_settings import GridSettings
from engine.strategies.hyperrsi import CandleInputs, FillEvent, HyperRsiSettings, HyperRsiState
from engine.strategies.intents import IntentKind
from engine.strategies.risk import grid_risk, hyperrsi_risk, liquidation_price
from engine.strategies.roles import OrderRole

RULES = MarketRules(price_step=0.01, amount_step=0.001, min_amount=0.001, min_cost=5.0)
TAKER, MAKER, MMR = 0.0005, 0.0002, 0.005
BASE = {"direction": "long", "investment": 100.0, "leverage": 10, "pyramiding_limit": 3, "entry_multiplier": 1.6,
        "pyramiding_entry_type": "percent", "pyramiding_value": 3.0, "entry_criterion": "average",
        "use_sl": True, "sl_option": "percentage", "sl_value": 5.0, "entry_option": "rsi_only"}


def lot(x: float) -> float:
    return math.floor(x / 0.001 + 1e-9) * 0.001


def risk(**kw):
    return hyperrsi_risk(HyperRsiSettings(**(BASE | kw)), RULES, 100.0, taker_fee=TAKER, maker_fee=MAKER,
                         maintenance=MMR)


def hand_ladder():
    """By hand: margins 100, 160, 256, 409.6 USDT at 10×; each add 3 % under the average so far."""
    legs, size, cost = [], 0.0, 0.0
    price = 100.0
    for n, m in enumerate((100.0, 160.0, 256.0, 409.6)):
        if n:
            price = cost / size * 0.97
        q = lot(m * 10 / price)
        legs.append((price, q))
        size, cost = size + q, cost + q * price
    return legs, size, cost / size, cost


def test_hyperrsi_three_adds_at_1_6x_and_a_5_percent_stop_at_10x():
    legs, size, avg, notional = hand_ladder()
    assert [q for _, q in legs] == pytest.approx([10.0, 16.494, 26.894, 43.69])  # 1000/100, 1600/97, ...
    r = risk()
    (side,) = r.sides
    orders = (side.entry, *side.adds)
    assert [x for o in orders for x in (o.price, o.amount)] == pytest.approx([x for leg in legs for x in leg])
    w = side.worst
    assert (w.adds, w.size, w.average, w.notional) == pytest.approx((3, size, avg, notional))
    assert w.size == pytest.approx(97.078) and w.average == pytest.approx(95.34441, abs=1e-5)
    assert side.margin(10) == pytest.approx(notional / 10) == pytest.approx(925.58, abs=0.01)  # ≈ 100+160+256+409.6
    assert w.fees == pytest.approx(notional * TAKER)
    liq = avg * (1 - 1 / 10) / (1 - MMR)  # isolated: the margin is all it can lose
    assert w.liquidation == pytest.approx(liq) == pytest.approx(86.24117, abs=1e-5)
    # the project's margin model gives the same price for a wallet holding just that margin
    pos = margin.Position(size, avg, avg, 10)
    assert margin.liquidation_price(notional / 10, pos, [], MMR) == pytest.approx(liq)
    # each add lies 3 % under the average, the stop 5 % under it: every add fills before the stop
    stop = avg * 0.95
    assert (side.ends_by, side.ends_at.adds, side.warning) == ("stop", 3, "")
    assert side.exit_price == pytest.approx(stop) == pytest.approx(90.57719, abs=1e-5)
    loss = size * (avg - stop) + notional * TAKER + size * stop * TAKER
    assert side.loss == pytest.approx(loss) == pytest.approx(471.82, abs=0.01)
    assert r.entry_fees(side) == pytest.approx((1000 * TAKER, 1000 * MAKER, 1000 * TAKER))


def test_the_sizes_are_what_the_strategy_sends():
    """Drive hyperrsi.on_candle down the ladder (RSI under 30 on each candle, closing at each add's level): its
    market orders, cut to the lot as the runtime cuts them, are the card's sizes."""
    s = HyperRsiSettings(**BASE)
    (side,) = risk().sides
    state, sent = HyperRsiState(), []
    for i, price in enumerate([side.entry.price, *(a.price for a in side.adds)]):
        c = CandleInputs(i, price, price, price, price, rsi=20.0, rsi_prev=25.0, lot=0.001, min_cost=5.0)
        step = hyperrsi.on_candle(s, state, c)
        (order,) = [it for it in step.intents if it.kind in (IntentKind.OPEN, IntentKind.ADD)]
        sent.append(lot(order.amount))
        role = OrderRole.ENTRY if order.kind == IntentKind.OPEN else OrderRole.PYRAMID
        state = hyperrsi.on_fill(s, step.state, FillEvent(role, price, lot(order.amount), side="buy")).state
    assert sent == pytest.approx([o.amount for o in (side.entry, *side.adds)])
    assert state.stop == pytest.approx(side.worst.stop)


def test_a_stop_beyond_the_liquidation_price_is_flagged():
    """A 12 % stop at 10×: the isolated position is liquidated 1 − 0.9/0.995 = 9.55 % under its average first."""
    _, size, avg, notional = hand_ladder()
    (side,) = risk(sl_value=12.0).sides
    liq = avg * 0.9 / 0.995
    assert side.worst.stop == pytest.approx(avg * 0.88) and avg * 0.88 < liq
    assert (side.ends_by, side.warning, side.ends_at.adds) == ("liquidation", "stop_beyond_liquidation", 3)
    assert side.exit_price == pytest.approx(liq)
    assert side.loss == pytest.approx(size * (avg - liq) + notional * TAKER)  # closed at the liquidation, no fee
    (short,) = risk(sl_value=12.0, direction="short").sides
    assert short.warning == "stop_beyond_liquidation" and short.worst.stop > short.worst.liquidation
    assert short.worst.liquidation == pytest.approx(short.worst.average * 1.1 / 1.005)
    (fine,) = risk(sl_value=9.0).sides  # 9 % is inside the 9.55 %
    assert (fine.ends_by, fine.warning) == ("stop", "")


def test_a_stop_before_the_next_add_ends_the_fall_there():
    """A 2 % stop under adds 3 % apart: the stop fires after the first entry; no add fills."""
    (side,) = risk(sl_value=2.0).sides
    assert (side.ends_by, side.ends_at.adds) == ("stop", 0) and side.exit_price == pytest.approx(98.0)
    assert side.loss == pytest.approx(10 * 2.0 + 1000 * TAKER + 10 * 98.0 * TAKER)
    assert side.worst.adds == 3  # the capital line still counts every add


def test_without_a_stop_and_at_fifty_times():
    (side,) = risk(use_sl=False).sides
    assert (side.ends_by, side.warning) == ("liquidation", "no_stop")
    # 50×: liquidated 1 − 0.98/0.995 = 1.5 % under the entry, before the first add 3 % under it
    (side,) = risk(leverage=50, sl_value=5.0).sides
    assert (side.ends_by, side.ends_at.adds, side.warning) == ("liquidation", 0, "stop_beyond_liquidation")
    assert side.exit_price == pytest.approx(100 * 0.98 / 0.995)
    (side,) = risk(use_sl_on_last=True, leverage=50).sides
    assert side.warning == "liquidated_before_stop"  # the stop waits for the last add, which never comes


def test_an_entry_below_the_minimum_and_both_directions():
    (side,) = risk(investment=0.4, leverage=1).sides  # 0.4 USDT: under the 5 USDT minimum order
    assert side.entry.below_minimum and not side.stages
    r = risk(direction="both")
    assert [s.side for s in r.sides] == ["long", "short"]
    assert r.sides[1].adds[0].price == pytest.approx(103.0)
    assert liquidation_price("long", 100.0, 1, MMR) is None  # a long at 1× is never liquidated


GRID = {"mode": "fixed", "direction": "long", "lower_price": 90.0, "upper_price": 110.0, "levels": 5,
        "investment": 1000.0, "leverage": 5, "fee_rate": 0.05, "tp_min_pct": 0.4}


def test_grid_liquidation_with_every_level_filled():
    """Levels 90, 95, 100, 105, 110; 1000 × 5 / 5 = 1000 USDT a level: 11.111, 10.526, 10, 9.523, 9.090 units."""
    s = GridSettings(**(GRID | {"stop_loss_price": 85.0}))
    r = grid_risk(s, RULES, 100.0, maker_fee=MAKER, taker_fee=TAKER, maintenance=MMR, swap=True)
    amounts = [11.111, 10.526, 10.0, 9.523, 9.090]
    assert r.preview.amounts == pytest.approx(amounts)
    size = sum(amounts)
    notional = sum(p * a for p, a in zip((90, 95, 100, 105, 110), amounts, strict=True))
    (e,) = r.exposures
    assert e.side == "long" and (e.size, e.average, e.notional) == pytest.approx((size, notional / size, notional))
    liq = notional / size * (1 - 1 / 5) / (1 - MMR)
    assert e.liquidation == pytest.approx(liq) == pytest.approx(79.9984, abs=1e-4)
    assert margin.liquidation_price(notional / 5, margin.Position(size, notional / size, 100.0, 5), [], MMR) == \
        pytest.approx(liq)
    assert r.entry_fees == pytest.approx(notional * MAKER) and r.stop_fee == pytest.approx(size * 85 * TAKER)
    loss = sum((p - 85) * a for p, a in zip((90, 95, 100, 105, 110), amounts, strict=True))
    assert r.loss_at_stop == pytest.approx(loss + notional * MAKER + size * 85 * TAKER)
    assert not r.stop_beyond_liquidation  # 85 is above 80.00
    s = GridSettings(**(GRID | {"stop_loss_price": 75.0}))
    assert grid_risk(s, RULES, 100.0, maker_fee=MAKER, taker_fee=TAKER, maintenance=MMR, swap=True) \
        .stop_beyond_liquidation
    spot = grid_risk(GridSettings(**(GRID | {"leverage": 1})), RULES, 100.0, maker_fee=MAKER, taker_fee=TAKER,
                     maintenance=MMR, swap=False)
    assert [x.liquidation for x in spot.exposures] == [None]


def test_grid_short_and_neutral_sides():
    short = grid_risk(GridSettings(**(GRID | {"direction": "short", "stop_loss_price": 140.0})), RULES, 100.0,
                      maker_fee=MAKER, taker_fee=TAKER, maintenance=MMR, swap=True)
    (e,) = short.exposures
    assert e.side == "short" and e.liquidation == pytest.approx(e.average * 1.2 / 1.005)
    assert short.stop_beyond_liquidation  # 140 lies past ≈ 118.8
    neutral = grid_risk(GridSettings(**(GRID | {"direction": "neutral"})), RULES, 100.0, maker_fee=MAKER,
                        taker_fee=TAKER, maintenance=MMR, swap=True)
    assert [(x.side, round(x.size, 3)) for x in neutral.exposures] == [("long", 31.637), ("short", 18.613)]
