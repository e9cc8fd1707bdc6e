"""A HYPERRSI and a GRID bot run through a day of replayed 1m candles on the paper exchange, on both databases."""

from __future__ import annotations

from decimal import Decimal

from db.enums import BotStatus, LevelState, OrderRole, OrderStatus
from db.models import AuditLog, Fill, Notification, Order, StrategyBot
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from engine.strategies.grid import GridState
from engine.strategies.hyperrsi import HyperRsiState
from tests.runtime_kit import assert_consistent, day_start, grid_rows_match, make_bots, position_of


async def drive(engine: Engine, clock: ManualClock, start: int, minutes: int) -> None:
    for k in range(minutes + 1):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()


async def test_hyperrsi_and_grid_through_a_day(db, shared_data):
    start = day_start(shared_data)
    clock = ManualClock(start + 2_000)
    engine = Engine(clock=clock, replay_dir=shared_data)
    user, (hrsi, grid) = await make_bots(shared_data, start)
    await engine.start(schedule=False)
    await engine.control.start_bot(user.id, hrsi.id)
    await engine.control.start_bot(user.id, grid.id)
    assert await AuditLog.filter(action="bot.start").count() == 2
    assert await Order.filter(bot_id=grid.id, role=OrderRole.GRID_ENTRY, status=OrderStatus.OPEN).count() > 0

    await drive(engine, clock, start, 1440)

    figures = await assert_consistent(engine.exchanges)
    h_fills = await Fill.filter(order__bot_id=hrsi.id).count()
    g_fills = await Fill.filter(order__bot_id=grid.id).count()
    assert h_fills >= 2 and g_fills >= 4, (h_fills, g_fills)
    assert await Notification.filter(kind="entry").count() >= 1
    assert await Notification.filter(kind__in=["take_profit", "stop_loss", "fill"]).count() >= 1

    gh = engine.handles[grid.id]
    assert isinstance(gh.strat, GridState)
    await grid_rows_match(grid.id, gh.strat)
    # a filled level is never without its take-profit: every level holding a position has an open exit order
    for lvl in gh.strat.levels:
        if lvl.state == LevelState.EXIT_PLACED.value:
            assert await Order.filter(bot_id=grid.id, role=OrderRole.GRID_EXIT, level=lvl.index,
                                      status=OrderStatus.OPEN).exists()
    pos = await position_of(grid.id)
    assert abs(float(pos.size) - abs(gh.strat.position)) < 1e-9

    hh = engine.handles[hrsi.id]
    assert isinstance(hh.strat, HyperRsiState)
    saved = (await StrategyBot.get(id=hrsi.id)).state
    # quiet candles are not written (re-evaluating one after a restart is the same no-op)
    assert saved["strategy"]["size"] == hh.strat.size and saved["candle"] <= hh.rt.candle
    hpos = await position_of(hrsi.id)
    assert hpos.size == Decimal(repr(hh.strat.size))

    # stop both: cancel everything, close the positions
    await engine.control.stop_bot(user.id, grid.id, close_position=True)
    await engine.control.stop_bot(user.id, hrsi.id, close_position=True)
    await drive(engine, clock, start + 1441 * 60_000, 2)
    for b in (grid, hrsi):
        row = await StrategyBot.get(id=b.id)
        assert row.status == BotStatus.STOPPED, row.status
        assert not await Order.filter(bot_id=b.id, status=OrderStatus.OPEN).exists()
    assert not await engine.exchanges[hrsi.account_id].fetch_positions()
    assert await Notification.filter(kind="bot_stopped").count() == 2
    await assert_consistent(engine.exchanges)
    print(figures, h_fills, g_fills)
