"""Chaos: a GRID bot against the fake OKX over real ccxt HTTP with 30 % of requests failing (timeouts, 429, 5xx,
lost answers): no order is ever sent twice, and once the chaos stops the database converges to the exchange."""

from __future__ import annotations

import asyncio

from db.enums import LevelState, OrderRole, OrderStatus
from db.models import Fill, Order
from engine.exchange.protocol import MarketType as ExMarketType
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from tests.fakes.gateways import gateway, venue
from tests.runtime_kit import grid_on_venue, grid_rows_match

MINUTES = 90


async def test_thirty_percent_failures_no_duplicate_and_convergence(db, shared_data):
    async with venue("okx", shared_data, balances={"USDT": "100000"}) as fake:
        user, bot, start, day = await grid_on_venue(fake, shared_data, "okx", 7, MINUTES)
        clock = ManualClock(start + 2_000)
        engine = Engine(clock=clock, exchange_factory=lambda a: gateway(fake, ExMarketType.SPOT),
                        unknown_grace_ms=300)
        await engine.start(schedule=False)
        await engine.control.start_bot(user.id, bot.id)
        fake.chaos(0.3, seed=11)
        for k in range(1, MINUTES + 1):
            clock.set(start + k * 60_000 + 2_000)
            for px in (day.low[k], day.high[k], day.close[k]):
                fake.set_price("BTC/USDT", px)
            await engine.tick()
        served = len(fake.injected)
        fake.chaos(0)
        await asyncio.sleep(0.4)  # past the unknown-outcome grace
        for _ in range(2):
            await engine.reconcile_all()
            await engine.supervise()

        print(f"chaos: {served} failures, {len(fake.created)} orders, {len(fake.fills)} fills")
        assert served >= 30, f"the chaos barely happened ({served} failures)"
        assert fake.duplicates() == {}, "an order was sent twice"
        ours = [o for o in fake.created if o.api_key]
        rows = {o.client_order_id: o for o in await Order.filter(bot_id=bot.id)}
        assert {o.client_id for o in ours} <= set(rows)
        open_ex = {o.client_id for o in fake.orders.values() if o.status == "open"}
        open_db = {cid for cid, o in rows.items() if o.status == OrderStatus.OPEN}
        assert open_ex == open_db
        assert not [o for o in rows.values() if o.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN)]
        for o in ours:  # every order's state and fills agree with the exchange
            r = rows[o.client_id]
            assert r.filled == o.filled, (o.client_id, r.filled, o.filled)
        assert {f.id for f in fake.fills} == set(await Fill.all().values_list("trade_id", flat=True))
        assert len(fake.fills) >= 2, "no fills: the test proves nothing about convergence"
        h = engine.handles[bot.id]
        await grid_rows_match(bot.id, h.strat)
        for lvl in h.strat.levels:  # a filled level is never without its take-profit
            if lvl.state == LevelState.EXIT_PLACED.value:
                assert await Order.filter(bot_id=bot.id, role=OrderRole.GRID_EXIT, level=lvl.index,
                                          status=OrderStatus.OPEN).exists()
        await engine.shutdown()
