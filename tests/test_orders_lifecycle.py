"""Order lifecycle on the paper exchange: a row before submit, rejections recorded, fills once, outbox once."""

from __future__ import annotations

from decimal import Decimal as D

from db.enums import BotKind, MarketType, OrderRole, OrderStatus
from db.models import ExchangeAccount, Fill, Notification, Order, StrategyBot, User
from engine.exchange.client_ids import parse_client_id
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import MarketType as ExMarketType
from engine.exchange.protocol import OrderType, Side
from engine.runtime.orders import BotRef, OrderLifecycle


async def _setup():
    user = await User.create(telegram_id=99)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SPOT, label="p",
                                       is_paper=True)
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT", settings={})
    ex = PaperExchange(ExMarketType.SPOT, {"USDT": D(10_000)})
    await ex.feed("BTC/USDT", [0, 60000, 60000, 60000, 60000, 1])
    return user, OrderLifecycle(ex, BotRef(user.id, bot.id, acc.id, "paper", "BTC/USDT")), ex


async def test_place_fill_once_and_notify_once(db):
    user, life, ex = await _setup()
    order = await life.place(OrderRole.GRID_ENTRY, Side.BUY, OrderType.LIMIT, D("0.01"), price=D(59000), level=3)
    assert parse_client_id(order.client_order_id) == (user.id, order.bot_id, "grid_entry", 3, 1)
    assert order.status == OrderStatus.OPEN and order.exchange_order_id
    trades = await ex.feed("BTC/USDT", [60_000, 60000, 60100, 58900, 59500, 1])
    first = await life.ingest_trades(trades)
    again = await life.ingest_trades(trades)  # a replay after a restart changes nothing
    assert len(first) == 1 and again == []
    o = await Order.get(id=order.id)
    assert (o.status, o.filled, o.average) == (OrderStatus.CLOSED, D("0.01"), D(59000))
    assert await Fill.all().count() == 1 and await Notification.filter(kind="fill").count() == 1
    second = await life.place(OrderRole.GRID_EXIT, Side.SELL, OrderType.LIMIT, D("0.01"), price=D(59300), level=3)
    assert second.seq == 2  # deterministic sequence per bot


async def test_rejection_is_recorded_with_its_reason_and_told(db):
    _, life, _ = await _setup()
    order = await life.place(OrderRole.ENTRY, Side.BUY, OrderType.MARKET, D(5))  # 300k USDT: too much
    assert (order.status, order.error) == (OrderStatus.REJECTED, "insufficient_funds")
    n = await Notification.get(kind="order_rejected")
    assert n.payload["reason"] == "insufficient_funds"


async def test_cancel_of_an_already_filled_order_learns_the_fill(db):
    _, life, ex = await _setup()
    order = await life.place(OrderRole.TAKE_PROFIT, Side.BUY, OrderType.LIMIT, D("0.01"), price=D(59000))
    await ex.feed("BTC/USDT", [60_000, 60000, 60100, 58900, 59500, 1])
    order = await life.cancel(order)
    assert order.status == OrderStatus.CLOSED  # never guessed as cancelled
