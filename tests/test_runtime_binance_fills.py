"""Binance's trade lists carry no client order id: a GRID bot there still learns of every fill (by exchange order
id), books it once and answers it with its counter order."""

from __future__ import annotations

import numpy as np

from db.enums import BotKind, BotStatus, LevelState, MarketType, OrderRole, OrderStatus
from db.models import ExchangeAccount, Fill, Order, StrategyBot, User
from engine.candles import load_csv
from engine.exchange.protocol import MarketType as ExMarketType
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from tests.fakes.gateways import gateway, venue
from tests.runtime_kit import day_start, grid_rows_match

MINUTES = 90


async def test_binance_fills_reach_the_grid_without_client_ids(db, shared_data):
    start = day_start(shared_data)
    c = load_csv(shared_data / "BTC_USDT-1m.csv")
    i = int(np.searchsorted(c.ts, start))
    day = c[i:i + MINUTES + 1]
    lo, hi = float(day.low.min()), float(day.high.max())
    async with venue("binance", shared_data, balances={"USDT": "100000"}) as fake:
        user = await User.create(telegram_id=8)
        acc = await ExchangeAccount.create(user=user, exchange="binance", market_type=MarketType.SPOT, label="bn",
                                           api_key_enc="x", secret_enc="x")
        bot = await StrategyBot.create(
            user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT", status=BotStatus.DRAFT,
            settings={"mode": "fixed", "direction": "long", "lower_price": round(lo * 0.999, 1),
                      "upper_price": round(hi, 1), "levels": 10, "investment": 2000, "tp_min_pct": 0.25,
                      "timeframe": "5m", "adx_gate": False})
        clock = ManualClock(start + 2_000)
        engine = Engine(clock=clock, exchange_factory=lambda a: gateway(fake, ExMarketType.SPOT))
        fake.set_price("BTC/USDT", day.close[0])
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
