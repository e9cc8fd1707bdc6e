"""Binance's trade lists carry no client order id: a GRID bot there still learns of every fill (by exchange order
id), books it once and answers it with its counter order."""

from __future__ import annotations

from db.enums import LevelState, OrderRole, OrderStatus
from db.models import Fill, Order
from engine.exchange.protocol import MarketType as ExMarketType
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from tests.fakes.gateways import gateway, venue
from tests.runtime_kit import grid_on_venue, grid_rows_match

MINUTES = 90


async def test_binance_fills_reach_the_grid_without_client_ids(db, shared_data):
    async with venue("binance", shared_data, balances={"USDT": "100000"}) as fake:
        user, bot, start, day = await grid_on_venue(fake, shared_data, "binance", 8, MINUTES)
        clock = ManualClock(start + 2_000)
        engine = Engine(clock=clock, exchange_factory=lambda a: gateway(fake, ExMarketType.SPOT))
        await engine.start(schedule=False)
        await engine.control.start_bot(user.id, bot.id)
        for k in range(1, MINUTES + 1):
            clock.set(start + k * 60_000 + 2_000)
            for px in (day.low[k], day.high[k], day.close[k]):
                fake.set_price("BTC/USDT", px)
            await engine.tick()
        await engine.supervise()

        ours = [f for f in fake.fills if f.order.api_key]
        assert len(ours) >= 2, "no fills: the test proves nothing"
        assert sorted(await Fill.all().values_list("trade_id", flat=True)) == sorted(str(f.id) for f in ours)
        rows = {o.client_order_id: o for o in await Order.filter(bot_id=bot.id)}
        for o in fake.created:
            assert rows[o.client_id].filled == o.filled, o.client_id
        h = engine.handles[bot.id]
        await grid_rows_match(bot.id, h.strat)
        exits = [lvl for lvl in h.strat.levels if lvl.state == LevelState.EXIT_PLACED.value]
        assert exits or any(f.order.side == "sell" for f in ours), "no entry was ever answered"
        for lvl in exits:  # a filled level is never without its take-profit
            assert await Order.filter(bot_id=bot.id, role=OrderRole.GRID_EXIT, level=lvl.index,
                                      status=OrderStatus.OPEN).exists()
        await engine.shutdown()
