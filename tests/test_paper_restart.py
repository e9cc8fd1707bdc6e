"""A paper account outlives its process: a new PaperExchange from the factory is the venue the last one left."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D

import pytest

from db.models import ExchangeAccount, PaperVenue, PaperVenueOrder, PaperVenueTrade, User
from engine.candles import load_csv
from engine.exchange.factory import make_exchange
from engine.exchange.paper_state import order_from_json
from engine.exchange.paper_store import StaleVenue
from engine.exchange.protocol import (
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)

SWAP = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def rows(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:400].rows()


async def _account(market_type: str = "swap", telegram_id: int = 7770001) -> ExchangeAccount:
    user = await User.create(telegram_id=telegram_id)
    return await ExchangeAccount.create(user=user, exchange="paper", market_type=market_type, label="paper",
                                        is_paper=True, paper_balances={"USDT": "50000"})


async def _state(ex, symbol: str = SWAP) -> dict:
    """Everything a user or a bot can see of the account, and the venue's own records (read once it is loaded)."""
    seen = {"balance": await ex.fetch_balance(), "positions": await ex.fetch_positions(),
            "open": await ex.fetch_open_orders(), "trades": (await ex.fetch_my_trades(symbol)).trades,
            "cursor": (await ex.fetch_my_trades(symbol)).cursor, "ticker": await ex.fetch_ticker(symbol)}
    orders = ex.inner._orders
    return {**seen, "orders": {i: o.info for i, o in orders.items()},
            "reserved": {i: o.reserved for i, o in orders.items()}, "seq": ex.inner._seq, "fees": ex.inner.fees_paid,
            "venue": ex.inner.venue_state()}


async def _trade_a_while(ex, rows, start: int, n: int, tag: str) -> None:
    """Limit orders around the price, one market order and one cancel every few candles."""
    for k, row in enumerate(rows[start:start + n], start):
        px = D(str(row[4]))
        if k % 7 == 0:
            for side, f in ((Side.BUY, D("0.998")), (Side.SELL, D("1.002"))):
                await ex.create_order(OrderRequest(SWAP, side, OrderType.LIMIT, D("0.01"), f"{tag}{k}{side}",
                                                   price=(px * f).quantize(D("0.1"))))
        if k % 11 == 0:
            await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D("0.02"), f"{tag}m{k}"))
        if k % 13 == 0:
            for o in (await ex.fetch_open_orders(SWAP))[:1]:
                await ex.cancel_order(SWAP, order_id=o.id)
        await ex.feed(SWAP, row)


def _venue(acc: ExchangeAccount, history: int | None):
    """The account's exchange as a new process makes it; `history`: closed orders and trades kept in memory."""
    ex = make_exchange(acc, None)
    if history is not None:
        ex.inner.history = history
    return ex


@pytest.mark.parametrize("history", [None, 5])  # None: as production keeps it; 5: most of it in the store only
async def test_a_restarted_paper_account_is_the_one_it_was(db, rows, history):
    acc, ref_acc = await _account(), await _account(telegram_id=7770009)
    first, ref = _venue(acc, history), _venue(ref_acc, history)  # ref: the same, never restarted
    for ex in (first, ref):
        await ex.set_leverage(SWAP, 5)
        await ex.feed(SWAP, rows[0])
        await _trade_a_while(ex, rows, 1, 150, "a")
    before = await _state(first)
    assert len(before["trades"]) >= 10 and before["open"] and before["positions"], "too little happened"
    stored = [order_from_json(d).info for d in
              await PaperVenueOrder.filter(account_id=acc.id).order_by("seq").values_list("data", flat=True)]
    assert any(o.status == OrderStatus.CANCELED for o in stored)

    second = _venue(acc, history)  # a new process: the same account, nothing in memory
    assert await _state(second) == before
    assert (await second.fetch_ticker(SWAP)).ts == int(rows[150][0])  # where the engine's feed resumes
    done = next(o for o in stored if o.status == OrderStatus.CLOSED)  # the oldest filled: in the store only at 5
    assert await second.inner.fetch_order(SWAP, client_order_id=done.client_order_id) == done
    assert second.inner._leverage[SWAP] == 5

    # the same candles and orders from here give the same ids and the same account as an uninterrupted run
    await _trade_a_while(ref, rows, 151, 120, "b")
    await _trade_a_while(second, rows, 151, 120, "b")
    after = await _state(second)
    assert after == await _state(ref)
    assert after == await _state(_venue(acc, history))
    assert len(after["trades"]) > len(before["trades"]) and after["seq"] > before["seq"]
    ids = [t.id for t in after["trades"]]
    assert ids == [f"T{i}" for i in range(1, len(ids) + 1)]
    seqs = await PaperVenueOrder.filter(account_id=acc.id).order_by("seq").values_list("seq", flat=True)
    assert seqs == list(range(1, after["seq"] + 1))  # no order id given twice
    if history:
        assert len(second.inner._trades) == history < len(ids)


async def test_a_spot_account_keeps_its_coins(db, rows):
    acc = await _account("spot", 7770002)
    ex = make_exchange(acc, None)
    await ex.feed("BTC/USDT", rows[0])
    await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("0.1"), "s1"))
    await ex.feed("BTC/USDT", rows[1])
    await ex.create_order(OrderRequest("BTC/USDT", Side.SELL, OrderType.LIMIT, D("0.05"), "s2",
                                       price=D(str(rows[0][4])) * 2))
    await ex.feed("BTC/USDT", rows[2])
    again = make_exchange(acc, None)
    bal = await again.fetch_balance()
    assert bal == await ex.fetch_balance() and bal["BTC"].total == D("0.1") and bal["BTC"].used == D("0.05")
    assert [o.client_order_id for o in await again.fetch_open_orders()] == ["s2"]


async def test_a_refused_order_and_a_replayed_candle_store_nothing(db, rows):
    acc = await _account(telegram_id=7770003)
    ex = make_exchange(acc, None)
    await ex.feed(SWAP, rows[0])
    version = (await PaperVenue.get(account_id=acc.id)).version
    with pytest.raises(InsufficientFunds):
        await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D(1000), "big"))
    assert await ex.feed(SWAP, rows[0]) == []  # the venue never matches a minute twice
    assert (await PaperVenue.get(account_id=acc.id)).version == version
    assert not await PaperVenueOrder.filter(account_id=acc.id).exists()


async def test_a_change_that_cannot_be_stored_is_not_made(db, rows):
    acc = await _account(telegram_id=7770004)
    ex = make_exchange(acc, None)
    await ex.feed(SWAP, rows[0])
    store, real = ex.inner.store, ex.inner.store.save

    async def broken(*a, **kw):
        raise ConnectionError("database gone")

    store.save = broken
    with pytest.raises(ExchangeUnavailable):  # for the engine: an order of unknown outcome, looked up by client id
        await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D("0.01"), "lost"))
    store.save = real
    with pytest.raises(OrderNotFound):
        await ex.fetch_order(SWAP, client_order_id="lost")
    placed = await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D("0.01"), "kept"))
    assert placed.id == "O1"  # the id of the order that was never stored is given again


async def test_two_copies_of_one_venue_never_fork(db, rows, monkeypatch):
    """Two processes on one paper account (two workers' jobs on two of its markets, a deploy's overlap): the second
    writer's call is made again on the venue as stored, so neither order is lost and no copy forks; past
    STALE_RETRIES the call is refused and nothing of it is stored."""
    from engine.exchange import paper_persist

    acc = await _account(telegram_id=7770005)
    a, b = make_exchange(acc, None), make_exchange(acc, None)
    await a.feed(SWAP, rows[0])
    await b.fetch_balance()  # b has loaded version 1
    await a.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "from-a", price=D(1000)))
    placed = await b.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "from-b", price=D(1000)))
    assert placed.id == "O2"  # taken after a's order, on the venue as a stored it
    assert [o.client_order_id for o in await make_exchange(acc, None).fetch_open_orders()] == ["from-a", "from-b"]

    monkeypatch.setattr(paper_persist, "STALE_RETRIES", 0)
    c = make_exchange(acc, None)
    await c.fetch_balance()  # c has loaded version 3
    await b.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "from-b2", price=D(1000)))
    with pytest.raises(StaleVenue):
        await c.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "from-c", price=D(1000)))
    assert [o.client_order_id for o in await c.fetch_open_orders()] == ["from-a", "from-b", "from-b2"]


async def test_eight_copies_writing_one_venue_at_once_all_get_their_orders_in(db, rows):
    """Jobs of eight markets of one account on several workers place their orders at the same moment (a cold cycle
    on 4 workers hit this): each refused write is made again on the venue as stored, after a short random pause so
    that the writers fall out of step, until every order is in; none is lost, none is given an id twice."""
    acc = await _account(telegram_id=7770006)
    await make_exchange(acc, None).feed(SWAP, rows[0])
    copies = [make_exchange(acc, None) for _ in range(8)]
    for c in copies:
        await c.fetch_balance()  # every copy holds the same version
    placed = await asyncio.gather(*(c.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), f"w-{i}",
                                                                price=D(1000))) for i, c in enumerate(copies)))
    assert sorted(p.id for p in placed) == [f"O{i}" for i in range(1, 9)]
    stored = await make_exchange(acc, None).fetch_open_orders()
    assert sorted(o.client_order_id for o in stored) == sorted(f"w-{i}" for i in range(8))


async def test_the_minutes_a_job_catches_up_on_are_one_write(db, rows):
    """A job feeds a paper venue the 1m candles since it last saw one (15 for a 15m close): one stored change,
    and the venue ends as fed one candle at a time."""
    accounts = [await _account(telegram_id=7770008), await _account(telegram_id=7770009)]
    one_by_one, at_once = (make_exchange(acc, None) for acc in accounts)
    batch = rows[1:16]
    price = D(str(min(r[3] for r in batch))).quantize(D("0.1")) + D("0.1")  # reached inside the batch
    for ex in (one_by_one, at_once):
        await ex.feed(SWAP, rows[0])
        await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "dip", price=price))
    for row in batch:
        await one_by_one.feed(SWAP, row)
    version = (await PaperVenue.get(account_id=accounts[1].id)).version
    assert await at_once.feed_candles(SWAP, batch) == 15
    assert (await PaperVenue.get(account_id=accounts[1].id)).version == version + 1
    assert await at_once.feed_candles(SWAP, batch) == 0  # minutes it saw: nothing new, nothing written
    assert (await PaperVenue.get(account_id=accounts[1].id)).version == version + 1
    restarted = [await _state(make_exchange(acc, None)) for acc in accounts]
    assert restarted[0]["trades"] and restarted[0] == restarted[1]


async def test_a_deleted_account_takes_its_venue_along(db, rows):
    acc = await _account(telegram_id=7770006)
    ex = make_exchange(acc, None)
    await ex.feed(SWAP, rows[0])
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D("0.01"), "m"))
    await ex.feed(SWAP, rows[1])
    assert await PaperVenueTrade.filter(account_id=acc.id).count() == 1
    await acc.delete()
    assert not await PaperVenue.filter(account_id=acc.id).exists()
    assert not await PaperVenueOrder.filter(account_id=acc.id).exists()
    assert not await PaperVenueTrade.filter(account_id=acc.id).exists()


async def test_write_cost_of_a_feed(db, rows, capsys):
    """What keeping a paper account costs per 1m candle: one small UPDATE in one transaction when nothing fills.
    Measured and printed (`-s`), bounded loosely so a slow shared machine does not fail it."""
    acc = await _account(telegram_id=7770007)
    ex = make_exchange(acc, None)
    await ex.set_leverage(SWAP, 3)
    await ex.feed(SWAP, rows[0])
    px = D(str(rows[0][4]))
    for i in range(10):  # a resting grid the candles do not reach
        await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), f"g{i}",
                                           price=(px * D("0.5") + i).quantize(D("0.1"))))
    n = 200
    t0 = time.perf_counter()
    for row in rows[1:n + 1]:
        await ex.feed(SWAP, row)
    per_feed = (time.perf_counter() - t0) / n
    size = len(str((await PaperVenue.get(account_id=acc.id)).state))
    with capsys.disabled():
        print(f"\n[{db.dialect}] paper feed with 10 resting orders: {per_feed * 1000:.2f} ms a candle, "
              f"one venue row of {size} bytes written")
    # the leverage, the orders (the first candle with them: alone, it moved only a price the venue held nothing on)
    # and every candle after them
    assert (await PaperVenue.get(account_id=acc.id)).version == 1 + 10 + n
    assert per_feed < 0.25


async def test_two_copies_of_a_new_venue_both_write_it(db, rows):
    """The first write of a venue that was never stored, from two processes at once (two jobs of one new account):
    the second finds the row made by the first and its call is made again on it, instead of failing."""
    acc = await _account(telegram_id=7770010)
    a, b = make_exchange(acc, None), make_exchange(acc, None)
    await a.fetch_balance()
    await b.fetch_balance()  # both loaded "never stored"
    await a.feed(SWAP, rows[0])
    placed = await b.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "from-b", price=D(1000)))
    assert placed.id == "O1"
    assert [o.client_order_id for o in await make_exchange(acc, None).fetch_open_orders()] == ["from-b"]


async def test_a_copy_loaded_across_another_writers_order_is_reloaded_when_its_write_is_refused(db, rows,
                                                                                                 monkeypatch):
    """A load that is not one snapshot (SQLite, another writer between its reads) can hold an order numbered past
    its document's count; the call's own order then takes that number, and its write is refused: the copy is
    loaded again, not put back from the mark (seen once in eight copies writing at once, a KeyError)."""
    from engine.exchange.paper_state import VenueState
    from engine.exchange.paper_store import PaperStore, Stored

    acc = await _account(telegram_id=7770007)
    first = make_exchange(acc, None)
    await first.feed(SWAP, rows[0])
    before = (await PaperVenue.get(account_id=acc.id)).state  # the document at version 1, no order yet
    await make_exchange(acc, None).create_order(_limit("elsewhere"))  # version 2, its order O1
    real = PaperStore.load

    async def torn(store, history):  # the document read before that order, the orders after it
        got = await real(store, history)
        monkeypatch.setattr(PaperStore, "load", real)
        return Stored(1, VenueState.from_json(before), got.orders, got.trades)

    monkeypatch.setattr(PaperStore, "load", torn)
    mine = make_exchange(acc, None)
    placed = await mine.create_order(_limit("mine"))
    assert placed.id == "O2"  # made again on the venue as stored
    stored = await make_exchange(acc, None).fetch_open_orders()
    assert sorted(o.client_order_id for o in stored) == ["elsewhere", "mine"]


def _limit(client_order_id: str) -> OrderRequest:
    return OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), client_order_id, price=D(1000))
