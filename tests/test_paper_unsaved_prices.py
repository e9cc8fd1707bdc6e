"""A stored paper venue fed candles of symbols it holds nothing on (no position, no open order) keeps their new
prices in memory and stores them with its next change, instead of writing its document on every feed: nothing there
can match or liquidate, and each such write made every other worker's copy of the account stale (its next call read
the venue again, its next write was refused). A copy never loses such a price to a document it takes from the store
(a refused write's rollback, another process's newer version), unless the stored venue holds something there now."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest

from engine.candles import load_csv
from engine.exchange.factory import make_exchange
from engine.exchange.protocol import OrderRequest, OrderStatus, OrderType, Side
from tests.test_paper_batch import _writes
from tests.test_paper_restart import SWAP, _account

ETH = "ETH/USDT:USDT"


@pytest.fixture(scope="module")
def rows(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:10].rows()


@pytest.fixture(scope="module")
def eth(shared_data):
    return load_csv(shared_data / "ETH_USDT-1m.csv")[:10].rows()


async def test_a_feed_moving_only_prices_of_flat_symbols_writes_nothing_until_the_next_change(db, rows, caplog):
    acc = await _account(telegram_id=7790001)
    ex = make_exchange(acc, None)
    await ex.feed(SWAP, rows[0])  # a venue never stored is stored on its first change
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        await ex.feed_many([(ex.paper_venue, SWAP, rows[1:3])])  # a worker's job feed
        await ex.feed(SWAP, rows[3])  # the one-process engine's minute
    assert _writes(caplog.records) == []
    assert (await ex.fetch_ticker(SWAP)).ts == int(rows[3][0])  # this copy's price is the newest
    assert (await make_exchange(acc, None).fetch_ticker(SWAP)).ts == int(rows[0][0])  # the store's, not yet
    far = D(str(rows[3][4])) / 2
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "rest", price=far))
    again = make_exchange(acc, None)
    assert (await again.fetch_ticker(SWAP)).ts == int(rows[3][0])  # stored with the order
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        await ex.feed(SWAP, rows[4])  # an open order on the symbol now: every feed is stored, as before
    assert _writes(caplog.records)
    assert (await make_exchange(acc, None).fetch_ticker(SWAP)).ts == int(rows[4][0])


async def test_a_copy_refused_as_stale_matches_its_market_order_on_no_candle_before_it(db, rows, eth):
    """Two workers' copies of one account: one feeds BTC (not stored: flat), the other stores ETH orders, then the
    first's market order on BTC is refused as stale, goes back to the stored venue and is made again. The copy keeps
    the BTC minute it was fed: the order fills on the candle after it, never on that minute, which closed before it
    was placed (a copy back at the store's BTC time would match it there)."""
    acc = await _account(telegram_id=7790011)
    a = make_exchange(acc, None)
    await a.feed(SWAP, rows[0])
    b = make_exchange(acc, None)
    await b.feed(ETH, eth[0])
    await b.create_order(OrderRequest(ETH, Side.BUY, OrderType.LIMIT, D("0.1"), "eth", price=D(str(eth[0][4])) / 2))
    await a.feed(SWAP, rows[1])  # flat: kept by a's copy, not stored (a is behind the store and does not learn it)
    assert (await make_exchange(acc, None).fetch_ticker(SWAP)).ts == int(rows[0][0])
    await b.create_order(OrderRequest(ETH, Side.BUY, OrderType.LIMIT, D("0.1"), "eth2", price=D(str(eth[0][4])) / 2))
    await a.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D("0.01"), "btc"))  # refused, made again
    assert (await make_exchange(acc, None).fetch_ticker(SWAP)).ts == int(rows[1][0])  # stored with the order
    await a.feed_many([(a.paper_venue, SWAP, rows[1:3])])  # the next job's feed, from where the copy stands
    filled = await make_exchange(acc, None).fetch_order(SWAP, client_order_id="btc")
    assert filled.status == OrderStatus.CLOSED
    assert filled.average == await _market_fill_on(rows[1], rows[2])


async def _market_fill_on(before, row) -> D:
    """What a market buy placed after `before` fills at on the candle `row` (the venue's slippage applied)."""
    from engine.exchange.paper import PaperExchange
    from engine.exchange.protocol import MarketType

    ex = PaperExchange(MarketType.SWAP, {"USDT": D(50000)})
    await ex.feed(SWAP, before)
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D("0.01"), "x"))
    await ex.feed(SWAP, row)
    return (await ex.fetch_order(SWAP, client_order_id="x")).average


async def test_a_copy_takes_no_unstored_price_back_where_the_stored_venue_now_holds_an_order(db, rows):
    """A price this copy did not store is not taken over a stored venue that holds an order on the symbol since
    (placed by another process at the older candle): the candles between would never be matched against it."""
    acc = await _account(telegram_id=7790021)
    a = make_exchange(acc, None)
    await a.feed(SWAP, rows[0])
    b = make_exchange(acc, None)
    await b.fetch_balance()  # b loads the venue at rows[0]
    await a.feed_many([(a.paper_venue, SWAP, rows[1:4])])  # not stored: flat
    low = min(D(str(r[3])) for r in rows[1:4])
    await b.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D("0.01"), "dip", price=low))
    await a.paper_venue.refresh()  # a sees b's order stored
    assert (await a.fetch_ticker(SWAP)).ts == int(rows[0][0])  # the stored time: the feed resumes there
    await a.feed_many([(a.paper_venue, SWAP, rows[1:4])])
    assert [o.status for o in await a.fetch_open_orders(SWAP)] == []  # the dip filled it
    assert (await make_exchange(acc, None).fetch_order(SWAP, client_order_id="dip")).status == (
        OrderStatus.CLOSED)


async def test_a_feed_builds_the_venue_document_only_where_it_writes_it(db, rows, eth, caplog, monkeypatch):
    """A market job feeds one symbol of each venue: the venue's whole document (every symbol's price, the balances
    and positions) is built only where it is written, not to find that a flat symbol's price alone moved."""
    from engine.exchange import paper_persist
    from engine.exchange.paper_state import VenueState

    monkeypatch.setattr(paper_persist, "CHECK_FEEDS", False)  # the check builds it on every feed
    built = []
    real = VenueState.to_json
    monkeypatch.setattr(VenueState, "to_json", lambda self: built.append(1) or real(self))
    acc = await _account(telegram_id=7790031)
    ex = make_exchange(acc, None)
    await ex.feed(SWAP, rows[0])
    await ex.feed(ETH, eth[0])
    far = D(str(eth[0][4])) / 2
    await ex.create_order(OrderRequest(ETH, Side.BUY, OrderType.LIMIT, D("0.1"), "rest", price=far))
    built.clear()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        await ex.feed_many([(ex.paper_venue, SWAP, rows[1:3])])  # BTC flat: its price kept, nothing written
    assert (built, _writes(caplog.records)) == ([], [])
    assert (await ex.fetch_ticker(SWAP)).ts == int(rows[2][0])
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        await ex.feed_many([(ex.paper_venue, ETH, eth[1:2])])  # an open order on ETH: stored, with BTC's price
    assert built and _writes(caplog.records)
    stored = make_exchange(acc, None)
    assert ((await stored.fetch_ticker(SWAP)).ts, (await stored.fetch_ticker(ETH)).ts) == (int(rows[2][0]),
                                                                                          int(eth[1][0]))


async def test_the_suites_check_finds_a_copy_that_is_not_its_stored_venue(db, rows, monkeypatch):
    """The rule a feed's change rests on (a copy between calls is its stored venue but for unsaved prices) is
    checked on every feed the tests make: a copy changed outside a call (here its balance) fails the feed."""
    from engine.exchange import paper_persist

    monkeypatch.setattr(paper_persist, "CHECK_FEEDS", True)
    acc = await _account(telegram_id=7790041)
    ex = make_exchange(acc, None)
    await ex.feed(SWAP, rows[0])
    await ex.feed_many([(ex.paper_venue, SWAP, rows[1:2])])  # as stored: the check passes
    ex.paper_venue.balances["USDT"] += 1
    with pytest.raises(AssertionError, match="not the stored venue"):
        await ex.feed_many([(ex.paper_venue, SWAP, rows[2:3])])
