"""Models round-trip on SQLite and PostgreSQL, and every uniqueness constraint rejects a duplicate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.enums import BotKind, LevelState, MarketType, OrderRole, OrderSide, OrderStatus, OrderType, Role
from db.models import (
    AuditLog,
    ExchangeAccount,
    Fill,
    GridLevel,
    Notification,
    Order,
    Position,
    StrategyBot,
    User,
)

BIG_TELEGRAM_ID = 7_999_999_999_999  # beyond 32 bits, as modern Telegram ids are


async def _graph():
    user = await User.create(telegram_id=BIG_TELEGRAM_ID, language="ko", role=Role.ADMIN)
    acc = await ExchangeAccount.create(
        user=user, exchange="okx", market_type=MarketType.SWAP, label="main", api_key_enc="tok", key_hint="abcd…wxyz"
    )
    bot = await StrategyBot.create(
        user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT", settings={"levels": 10}
    )
    order = await Order.create(
        bot=bot,
        account=acc,
        client_order_id="tb1u1b1ge3s0",
        symbol=bot.symbol,
        role=OrderRole.GRID_ENTRY,
        level=3,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        price=Decimal("64123.100000000000000001"),
        amount=Decimal("0.00012345"),
    )
    return user, acc, bot, order


async def test_models_round_trip(db):
    user, acc, bot, order = await _graph()
    fill = await Fill.create(
        order=order, account=acc, trade_id="T1", price=Decimal("64123.1"), amount=Decimal("0.0001"),
        fee=Decimal("0.0000001"), fee_currency="BTC", realized_pnl=Decimal("-1.25"), ts=1722003300000,
    )
    pos = await Position.create(bot=bot, symbol=bot.symbol, size=Decimal("0.0001"), average_entry=Decimal("64123.1"))
    await GridLevel.create(bot=bot, index=3, price=Decimal("64000.5"), state=LevelState.ENTRY_PLACED)
    await Notification.create(user=user, kind="fill", payload={"price": "64123.1"}, dedup_key="fill:okx:1:T1")
    await AuditLog.create(user=user, actor_telegram_id=BIG_TELEGRAM_ID, action="bot.start", details={"id": bot.id})

    u = await User.get(telegram_id=BIG_TELEGRAM_ID)
    assert (u.language, u.role, u.blocked, u.active) == ("ko", Role.ADMIN, False, True)
    o = await Order.get(client_order_id="tb1u1b1ge3s0").prefetch_related("bot", "account")
    assert o.price == Decimal("64123.100000000000000001")  # 36 digits, 18 decimals survive both databases
    assert o.amount == Decimal("0.00012345")
    assert (o.status, o.filled, o.bot.kind, o.account.exchange) == (OrderStatus.PENDING, 0, BotKind.GRID, "okx")
    f = await Fill.get(id=fill.id)
    assert (f.realized_pnl, f.fee, f.ts) == (Decimal("-1.25"), Decimal("0.0000001"), 1722003300000)
    assert (await StrategyBot.get(id=bot.id)).settings == {"levels": 10}
    assert (await Position.get(id=pos.id)).average_entry == Decimal("64123.1")
    assert (await GridLevel.get(bot=bot, index=3)).state == LevelState.ENTRY_PLACED
    n = await Notification.get(dedup_key="fill:okx:1:T1")
    assert n.payload == {"price": "64123.1"} and n.attempts == 0
    assert (await AuditLog.first()).details == {"id": bot.id}
    assert user.created_at.tzinfo is not None


async def test_client_order_id_is_unique(db):
    _, acc, bot, order = await _graph()
    with pytest.raises(IntegrityError):
        await Order.create(
            bot=bot, account=acc, client_order_id=order.client_order_id, symbol=bot.symbol,
            role=OrderRole.ENTRY, side=OrderSide.BUY, type=OrderType.MARKET, amount=Decimal(1),
        )


async def test_trade_id_is_unique_per_account(db):
    user, acc, _bot, order = await _graph()
    await Fill.create(order=order, account=acc, trade_id="T9", price=1, amount=1, ts=1)
    with pytest.raises(IntegrityError):
        await Fill.create(order=order, account=acc, trade_id="T9", price=1, amount=1, ts=2)
    other = await ExchangeAccount.create(user=user, exchange="binance", market_type=MarketType.SPOT, label="b")
    await Fill.create(order=order, account=other, trade_id="T9", price=1, amount=1, ts=3)  # another account: fine
    assert await Fill.filter(trade_id="T9").count() == 2


async def test_notification_dedup_key_is_unique(db):
    user, *_ = await _graph()
    await Notification.create(user=user, kind="fill", payload={}, dedup_key="k1")
    with pytest.raises(IntegrityError):
        await Notification.create(user=user, kind="fill", payload={}, dedup_key="k1")


async def test_telegram_id_is_unique(db):
    await User.create(telegram_id=1)
    with pytest.raises(IntegrityError):
        await User.create(telegram_id=1)


async def test_a_failed_transaction_leaves_nothing(db):
    user, *_ = await _graph()
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await Notification.create(user=user, kind="a", payload={}, dedup_key="x")
            await Notification.create(user=user, kind="b", payload={}, dedup_key="x")
    assert await Notification.filter(dedup_key="x").count() == 0


async def test_each_test_starts_empty(db):
    assert await User.all().count() == 0
    assert await Order.all().count() == 0
