"""The books of a bot's fills equal an independent recomputation for any fill sequence, and the Position row too."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.enums import BotKind, BotStatus, MarketType, PositionSide
from db.models import ExchangeAccount, Position, StrategyBot, User
from engine.exchange.paper import PaperExchange
from engine.exchange.units import BaseUnits
from engine.ledger import Book, book_fill
from engine.runtime.bots import make_handle
from engine.runtime.grid_runner import LiveGrid

D = Decimal
LOT = D("0.001")


def recompute(fills: list[tuple[str, Decimal, Decimal, Decimal]]) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(position, average, realised, fees) by another road: open lots kept as a list, shrunk pro rata when the
    position is reduced (which is what average cost means), realised against each lot's own price."""
    lots: list[list[Decimal]] = []  # [signed amount, price]
    realised = fees = D(0)
    for side, amount, price, fee in fills:
        fees += fee
        signed = amount if side == "buy" else -amount
        held = sum((a for a, _ in lots), D(0))
        if held == 0 or (held > 0) == (signed > 0):
            lots.append([signed, price])
            continue
        closing = min(abs(signed), abs(held))
        share = closing / abs(held)
        for lot in lots:
            part = lot[0] * share
            realised += (price - lot[1]) * part
            lot[0] -= part
        lots = [lot for lot in lots if lot[0] != 0]
        rest = abs(signed) - closing
        if rest > 0:
            lots = [[rest if signed > 0 else -rest, price]]
    position = sum((a if s == "buy" else -a for s, a, _, _ in fills), D(0))  # exact: the lots are shrunk inexactly
    if position == 0:
        return D(0), D(0), realised, fees
    average = sum((a * p for a, p in lots), D(0)) / sum((a for a, _ in lots), D(0))
    return position, average, realised, fees


fill = st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 50).map(lambda k: k * LOT),
                 st.integers(90_000, 110_000).map(lambda p: D(p) / 1000), st.integers(0, 500).map(lambda f: D(f) / 1000))


@settings(max_examples=300, deadline=None)
@given(st.lists(fill, min_size=1, max_size=40))
def test_books_equal_an_independent_recomputation(fills):
    book, told = Book(), D(0)
    for side, amount, price, fee in fills:
        book, pnl = book_fill(book, side, amount, price, fee, LOT)
        told += pnl
    position, average, realised, fees = recompute(fills)
    assert book.position == position
    assert abs(book.average - average) < D("1e-12") and book.fees == fees
    assert abs(book.realized - realised) < D("1e-12") and book.realized == told


async def _running_grid(telegram_id: int, symbol: str, lower: float, upper: float) -> StrategyBot:
    user = await User.create(telegram_id=telegram_id)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True)
    return await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol=symbol,
                                    settings={"mode": "fixed", "lower_price": lower, "upper_price": upper},
                                    status=BotStatus.RUNNING)


async def test_the_position_row_shows_the_books(db):
    rnd = random.Random(7)
    fills = [(rnd.choice(["buy", "sell"]), rnd.randint(1, 30) * LOT, D(rnd.randint(95_000, 105_000)) / 1000,
              D(rnd.randint(0, 300)) / 1000) for _ in range(200)]
    row = await _running_grid(3, "ETH/USDT:USDT", 90, 110)
    ex = BaseUnits(PaperExchange(MarketType.SWAP, {"USDT": D(1000)}))
    h = await make_handle(row, ex, "replay", LiveGrid())
    for i, (side, amount, price, fee) in enumerate(fills):
        h.fill(side, amount, price, fee)
        await h.save_position()
        if i % 50 == 49:  # a restart reads the books back from the row
            h = await make_handle(await StrategyBot.get(id=row.id), ex, "replay", LiveGrid())
    position, average, realised, fees = recompute(fills)
    pos = await Position.get(bot_id=row.id)
    shown = pos.size if pos.side == PositionSide.LONG else -pos.size
    assert shown == position and (pos.side == PositionSide.FLAT) == (position == 0)
    assert abs((pos.average_entry or 0) - average) < D("1e-9")
    assert abs(pos.realized_pnl - realised) < D("1e-9") and pos.fees == fees


async def test_a_fill_whose_transaction_rolls_back_is_booked_once_when_it_comes_again(db, monkeypatch):
    """The handle's books (and strategy state) follow the database: a fill whose transaction failed half-way is
    not left booked in memory, then booked a second time when the trade is ingested again."""
    from db.enums import OrderRole
    from db.models import Fill
    from engine.exchange.protocol import OrderType, Side
    from engine.runtime import fills

    row = await _running_grid(4, "BTC/USDT:USDT", 50_000, 70_000)
    paper = PaperExchange(MarketType.SWAP, {"USDT": D(100_000)})
    await paper.feed("BTC/USDT:USDT", [0, 60_000, 60_000, 60_000, 60_000, 1])
    h = await make_handle(row, BaseUnits(paper), "replay", LiveGrid())
    await h.life.place(OrderRole.GRID_ENTRY, Side.BUY, OrderType.LIMIT, D("0.01"), price=D(59_000), level=1)
    await paper.feed("BTC/USDT:USDT", [60_000, 60_000, 60_000, 58_000, 59_500, 1])

    async def broken(*a, **kw):
        raise RuntimeError("the database went away mid-transaction")

    with monkeypatch.context() as m:
        m.setattr(LiveGrid, "on_fill", broken)
        with pytest.raises(RuntimeError):
            await fills.poll([h])
    assert h.book == Book() and not await Fill.exists()
    assert await fills.poll([h]) == 1 and await fills.poll([h]) == 0
    assert h.book.position == D("0.01") and (await Position.get(bot_id=row.id)).size == D("0.01")
