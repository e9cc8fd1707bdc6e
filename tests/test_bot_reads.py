"""bot/reads.py returns exactly what the plain ORM queries return, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.reads import (
    fills_between,
    newest_fill_ts,
    positions_of,
    shown_bots,
    users_by_telegram_ids,
)
from db.enums import BotKind, BotStatus, MarketType, OrderRole, OrderSide, OrderType, PositionSide
from db.models import ExchangeAccount, Fill, Order, Position, StrategyBot, User


def _rows(models: list) -> list[dict]:
    return [dict(m) for m in models]  # a model iterates over its (column, value) pairs


async def test_hot_reads_match_the_orm(db):
    me, other = await User.create(telegram_id=1), await User.create(telegram_id=2)
    accs = []
    for owner, label in [(me, "main"), (me, "deleted#1 old"), (me, "Deleted#x"), (other, "main"), (me, "b_%")]:
        accs.append(await ExchangeAccount.create(user=owner, exchange="paper", market_type=MarketType.SWAP,
                                                 label=label, is_paper=True, paper_balances={"USDT": "1"}))
    bots = []
    for owner, acc, status in [(me, accs[0], BotStatus.RUNNING), (me, accs[0], BotStatus.DRAFT),
                               (other, accs[3], BotStatus.RUNNING), (me, accs[2], BotStatus.STOPPED)]:
        bots.append(await StrategyBot.create(user=owner, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                             settings={"a": 1}, status=status))
    for b in bots[:3]:
        await Position.create(bot=b, symbol=b.symbol, side=PositionSide.LONG, size=Decimal("0.5"),
                              average_entry=Decimal("65000.25"), realized_pnl=Decimal("-1.5"))
    for i, (acc, ts) in enumerate([(accs[0], 1000), (accs[1], 2000), (accs[3], 3000), (accs[0], 10)]):
        order = await Order.create(bot=bots[0], account=acc, client_order_id=f"c{i}", symbol="BTC/USDT:USDT",
                                   role=OrderRole.GRID_ENTRY, side=OrderSide.BUY, type=OrderType.LIMIT,
                                   price=Decimal("65000"), amount=Decimal("0.01"))
        await Fill.create(order=order, account=acc, trade_id=f"t{i}", price=Decimal("65000"), amount=Decimal("0.01"),
                          fee=Decimal("0.0123"), realized_pnl=Decimal(f"{i}.5"), ts=ts)

    many = list(range(-100, 3))  # more than one statement's worth of ids
    assert sorted(_rows(await users_by_telegram_ids(many)), key=lambda r: r["id"]) == sorted(
        _rows(await User.filter(telegram_id__in=many)), key=lambda r: r["id"])
    assert [u.id for u in await users_by_telegram_ids([1, 3])] == [me.id]
    orm_bots = await StrategyBot.filter(user=me).exclude(status=BotStatus.DRAFT).order_by("id")
    assert [b.id for b in orm_bots] == [bots[0].id, bots[3].id]
    mine = await shown_bots(me)  # full rows, as the ORM builds them
    assert _rows(mine) == _rows(orm_bots)
    ids = [b.id for b in bots]
    assert sorted(_rows(await positions_of(ids)), key=lambda r: r["id"]) == sorted(
        _rows(await Position.filter(bot_id__in=ids)), key=lambda r: r["id"])
    assert await positions_of([]) == []
    orm_fills = await Fill.filter(account__user=me, ts__gte=100, ts__lt=2000).values_list(
        "ts", "realized_pnl", "fee", "order__symbol")
    one = [(1000, Decimal("0.5"), Decimal("0.0123"), "BTC/USDT:USDT")]
    assert sorted(await fills_between(me, 100, 2000)) == sorted(orm_fills) == one
    assert sorted(await fills_between(me, 100, 2001)) == [*one, (2000, Decimal("1.5"), Decimal("0.0123"),
                                                                 "BTC/USDT:USDT")]
    assert await newest_fill_ts(me) == 2000 and await newest_fill_ts(other) == 3000
    assert await newest_fill_ts(await User.create(telegram_id=9)) is None


async def test_hot_reads_neither_wait_for_nor_see_an_open_transaction(db):
    """On PostgreSQL (production's database) a read takes its own pooled connection; SQLite serves all statements
    on one connection, so a read there waits for the transaction by design."""
    import asyncio

    from tortoise.transactions import in_transaction

    if db.dialect != "postgres":
        pytest.skip("one SQLite connection: reads wait for an open transaction")

    me = await User.create(telegram_id=1)
    opened, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with in_transaction():
            await User.create(telegram_id=2)
            opened.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await opened.wait()
    got = await asyncio.wait_for(users_by_telegram_ids([1, 2]), 5)
    assert [u.id for u in got] == [me.id]  # the new row is not committed yet
    release.set()
    await task
    assert [u.telegram_id for u in await users_by_telegram_ids([2])] == [2]
