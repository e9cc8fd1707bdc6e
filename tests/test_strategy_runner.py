"""The StrategyRunner protocol: the conditions the drivers used to re-derive now live in each strategy's runner."""

from __future__ import annotations

import pytest

from engine.strategies.grid import GridCandle, GridSettings, MarketRules
from engine.strategies.hyperrsi import CandleInputs, HyperRsiSettings
from engine.strategies.intents import IntentKind
from engine.strategies.roles import OrderRole
from engine.strategies.runner import Fill, StrategyRunner
from engine.strategies.runner_grid import GridRunner
from engine.strategies.runner_hyperrsi import HyperRsiRunner

RULES = MarketRules(price_step=0.01, amount_step=0.0001, min_amount=0.0001, min_cost=5)


def long_at_100() -> HyperRsiRunner:
    r = HyperRsiRunner(HyperRsiSettings())
    r.on_fill(Fill(OrderRole.ENTRY, 100.0, 10.0, side="buy"))
    return r


def oversold(close: float, index: int = 1) -> CandleInputs:
    return CandleInputs(index, close, close, close, close, rsi=20.0, rsi_prev=25.0, atr=1.0)


def test_both_runners_are_strategy_runners():
    assert isinstance(HyperRsiRunner(HyperRsiSettings()), StrategyRunner)
    assert isinstance(GridRunner(GridSettings(lower_price=90, upper_price=110), RULES), StrategyRunner)


def test_hyperrsi_paused_opens_nothing_and_adds_nothing():
    flat = HyperRsiRunner(HyperRsiSettings())
    assert [i.role for i in flat.on_candle(oversold(100.0)).market] == [OrderRole.ENTRY]
    paused = HyperRsiRunner(HyperRsiSettings())
    assert paused.on_candle(oversold(100.0), paused=True).market == [] and paused.state.pending == ""
    assert paused.state.atr == 1.0  # the ATR is still carried

    r = long_at_100()
    assert [i.role for i in r.on_candle(oversold(96.0)).market] == [OrderRole.PYRAMID]  # 3 % below the average
    r = long_at_100()
    step = r.on_candle(oversold(96.0), paused=True)
    assert step.market == [] and r.state.pending == "" and r.state.pyramid_count == 0


def test_hyperrsi_fill_roles_and_close():
    r = long_at_100()
    stages = [o.level for o in r.desired_orders() if o.role == OrderRole.TAKE_PROFIT]
    assert stages == [1, 2, 3]
    r.on_fill(Fill(OrderRole.TAKE_PROFIT, 102.0, 3.0, level=1))
    assert r.state.tp_stage == 1 and r.holds().size == pytest.approx(7.0)
    step = r.close(True)
    assert [(i.kind, i.role, i.side, i.amount) for i in step.market] == [
        (IntentKind.CLOSE, OrderRole.CLOSE, "sell", pytest.approx(7.0))]
    assert r.state.pending == "close"
    r.on_fill(Fill(OrderRole.CLOSE, 101.0, 7.0, index=3))
    assert r.holds().side == "flat" and r.state.realized_pnl == pytest.approx(3 * 2 + 7 * 1)


def test_hyperrsi_liquidation_is_a_forced_stop():
    r = long_at_100()
    step = r.on_fill(Fill(OrderRole.CLOSE, 90.0, 10.0, forced=True))
    assert [n.reason for n in step.notes] == ["stop_filled"] and r.holds().side == "flat"


def test_hyperrsi_refused_entry_is_forgotten():
    r = HyperRsiRunner(HyperRsiSettings())
    r.on_candle(oversold(100.0))
    assert r.state.pending == "entry"
    r.on_refused(OrderRole.ENTRY, index=1)
    assert r.state.pending == "" and r.state.side == "flat"


def grid_long() -> GridRunner:
    g = GridRunner(GridSettings(lower_price=90.0, upper_price=110.0, levels=11, investment=1100.0), RULES)
    g.start(100.0)
    return g


def test_grid_close_is_booked_against_the_average_at_stop():
    g = grid_long()
    entries = [o for o in g.desired_orders() if o.role == OrderRole.GRID_ENTRY]
    top = max(entries, key=lambda o: o.price)
    g.on_fill(Fill(OrderRole.GRID_ENTRY, top.price, top.amount, level=top.level, side="buy"))
    assert g.holds().average == pytest.approx(top.price) and g.holds().side == "long"
    step = g.close(True)
    assert [(i.role, i.side, i.amount) for i in step.market] == [(OrderRole.CLOSE, "sell", top.amount)]
    assert g.desired_orders() == [] and g.holds().average == pytest.approx(top.price)  # the levels are gone
    g.on_fill(Fill(OrderRole.CLOSE, top.price + 1, top.amount, fee=0.01))
    assert g.holds().side == "flat"
    assert g.state.realized_pnl == pytest.approx(top.amount - 0.01)


def test_grid_paused_does_nothing_and_a_refused_entry_rearms():
    g = grid_long()
    before = g.state
    assert g.on_candle(GridCandle(1, 130.0, 70.0, 100.0), paused=True).intents == [] and g.state is before
    entry = next(o for o in g.desired_orders() if o.role == OrderRole.GRID_ENTRY)
    g.on_refused(OrderRole.GRID_ENTRY, entry.level)
    assert all(o.level != entry.level for o in g.desired_orders())


def test_grid_liquidation_stops_and_books_the_position():
    g = grid_long()
    top = max(g.desired_orders(), key=lambda o: o.price)
    g.on_fill(Fill(OrderRole.GRID_ENTRY, top.price, top.amount, level=top.level, side="buy"))
    g.on_fill(Fill(OrderRole.CLOSE, top.price - 5, top.amount, forced=True))
    assert g.state.stopped == "liquidation" and g.holds().side == "flat"
    assert g.state.realized_pnl == pytest.approx(-5 * top.amount)
