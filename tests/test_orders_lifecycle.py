"""Order lifecycle on the paper exchange: a row before submit, rejections recorded, fills once, outbox once."""

from __future__ import annotations

from decimal import Decimal as D

from db.enums import BotKind, MarketType, OrderRole, OrderStatus
from db.models import ExchangeAccount, Fill, Notification, Order, StrategyBot, User
from engine.exchange.client_ids import parse_client_id
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import MarketType as ExMarketType
from engine.exchange.protocol import OrderType, Side
from engine.runtime.fills import ingest
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
    first = await ingest(life, trades)
    again = await ingest(life, trades)  # a replay after a restart changes nothing
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


async def test_a_refusal_storm_is_one_notice_with_a_count_and_a_back_off(db):
    """Seen: after kill -9 and restarts, 22,615 order_rejected notices were pending, one per attempt, and fill
    notices waited behind them. Now a refused order waits 5 s x 2^(n-1) (at most 15 min) before it is tried again,
    and the user hears of the 1st, 10th, 100th... refusal in a row, with the count."""
    from engine.runtime.sync import WantedOrder, sync_resting

    _, life, ex = await _setup()
    now = [1_800_000_000_000]
    life.clock = lambda: now[0]
    want = WantedOrder(OrderRole.GRID_ENTRY, 4, Side.BUY, OrderType.LIMIT, D(5), price=D(59000))  # 295k USDT: too much
    tries = 0
    for _ in range(3600):  # a supervision every second for an hour
        res = await sync_resting(life, await ex.market("BTC/USDT"), [want], (OrderRole.GRID_ENTRY,))
        tries += len(res.failed)
        now[0] += 1000
    told = await Notification.filter(kind="order_rejected").order_by("id").values_list("payload", flat=True)
    assert 10 <= tries <= 14, tries  # 5, 10, 20 ... 640 s, then every 15 min: not 3,600
    assert [p["attempts"] for p in told] == [1, 10] and told[1]["retry_in_s"] == 900
    assert await Order.filter(status=OrderStatus.REJECTED).count() == tries
    ok = WantedOrder(OrderRole.GRID_ENTRY, 4, Side.BUY, OrderType.LIMIT, D("0.01"), price=D(59000))
    now[0] += 900_000
    placed = await sync_resting(life, await ex.market("BTC/USDT"), [ok], (OrderRole.GRID_ENTRY,))
    assert len(placed.placed) == 1 and life.refused == {}  # accepted: the streak is over
