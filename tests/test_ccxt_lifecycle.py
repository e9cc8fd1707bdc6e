"""The order lifecycle over the live gateway and real ccxt against the fake OKX/Binance/Upbit (SQLite and PostgreSQL):
a create whose answer is lost and cannot be looked up stays UNKNOWN, is adopted once the exchange answers again,
its fill is recorded once — and the exchange holds exactly one order."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from db.enums import BotKind, MarketType, OrderRole, OrderStatus
from db.models import ExchangeAccount, Fill, Order, StrategyBot, User
from engine.exchange.protocol import OrderType, Side
from engine.runtime.fills import ingest
from engine.runtime.orders import BotRef, OrderLifecycle
from tests.fakes.gateways import gateway, venue


@pytest.mark.parametrize("v", ["okx", "binance", "upbit"])  # Upbit: its USDT market
async def test_unknown_outcome_is_kept_unknown_then_adopted_once(db, v):
    user = await User.create(telegram_id=4242)
    acc = await ExchangeAccount.create(user=user, exchange=v, market_type=MarketType.SPOT, label="live")
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT", settings={})
    async with venue(v) as fake:
        g = gateway(fake)
        life = OrderLifecycle(g, BotRef(user.id, bot.id, acc.id, v, "BTC/USDT"))
        try:
            fake.fail_next("lost", op="create")
            fake.fail_next("server_error", op="fetch_order", times=4)  # the lookup cannot tell either
            order = await life.place(OrderRole.ENTRY, Side.BUY, OrderType.MARKET, D("0.002"))
            assert (order.status, order.error) == (OrderStatus.UNKNOWN, "unknown_outcome")
            order = await life.resolve_unknown(order, now_ms=0)  # the exchange answers again
            page = await g.fetch_my_trades("BTC/USDT")
            fills = await ingest(life, page.trades)
            again = await ingest(life, page.trades)
        finally:
            await g.close()
        row = await Order.get(id=order.id)
        assert row.status == OrderStatus.CLOSED and row.exchange_order_id == fake.created[0].id
        assert row.filled == D("0.002") and len(fills) == 1 and again == [] and await Fill.all().count() == 1
        assert len(fake.created) == 1 and fake.count("create") == 1
