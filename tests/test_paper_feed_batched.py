"""Paper venues fed together: the minute's candles where nothing matched are stored for every venue holding an order
or a position on the symbol in one statement, and not at all for a venue holding nothing there (its prices are
stored with its next change); a venue where an order filled stores its orders and trades as before; a venue another
process stored meanwhile is fed again on the venue as stored; what is stored is what one-by-one feeding stores."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest

from db.models import ExchangeAccount, PaperVenueTrade, User
from engine.candles import load_csv
from engine.exchange.paper import PaperExchange
from engine.exchange.paper_store import PaperStore
from engine.exchange.protocol import MarketType, OrderRequest, OrderStatus, OrderType, Side

SYM = "BTC/USDT"
BALANCES = {"USDT": "100000", "BTC": "1"}


@pytest.fixture(scope="module")
def rows(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:30].rows()


async def _stored_venues(n: int, first: list, first_user: int = 8300) -> list[PaperExchange]:
    out = []
    for k in range(n):
        user = await User.create(telegram_id=first_user + k)
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type="spot", label="paper",
                                           is_paper=True, paper_balances=BALANCES)
        ex = _copy(acc.id)
        await ex.feed(SYM, first)  # stored once: a price to trade at
        out.append(ex)
    return out


def _copy(account_id: int) -> PaperExchange:
    return PaperExchange(MarketType.SPOT, {k: D(v) for k, v in BALANCES.items()}, store=PaperStore(account_id))


def _venue_writes(records) -> list[str]:
    return [r.getMessage() for r in records if r.name == "tortoise.db_client" and "paper_venues" in r.getMessage()
            and r.getMessage().lstrip().upper().startswith("UPDATE")]


async def test_a_quiet_minute_is_one_write_for_every_venue_and_a_fill_is_stored_as_before(db, rows, caplog):
    venues = await _stored_venues(7, rows[0])
    low = min(float(r[3]) for r in rows[1:6])
    buy = await venues[0].create_order(OrderRequest(SYM, Side.BUY, OrderType.LIMIT, D("0.01"), price=D(str(low)),
                                                    client_order_id="tb-batch-1"))
    for k, ex in enumerate(venues[1:6]):  # resting far below the candles: held, never reached
        await ex.create_order(OrderRequest(SYM, Side.BUY, OrderType.LIMIT, D("0.01"), price=D(str(low / 2)),
                                           client_order_id=f"tb-rest-{k}"))
    flat = venues[6]  # holds nothing on the symbol
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        refused = await PaperExchange.feed_many([(ex, SYM, rows[1:6]) for ex in venues])
    assert refused == {}
    writes = _venue_writes(caplog.records)
    # one statement for the five quiet venues (on SQLite one per venue, in one transaction), one for the filled one,
    # none for the flat one
    assert len(writes) == (2 if db.dialect == "postgres" else 6), writes
    assert (await venues[0].fetch_order(SYM, buy.id)).status == OrderStatus.CLOSED
    assert await PaperVenueTrade.filter(account_id=venues[0].store.account_id).count() == 1
    for ex in venues:  # a new process's copy holds what this one holds, the flat one's price as of its last change
        fresh = _copy(ex.store.account_id)
        assert (await fresh.fetch_ticker(SYM)).ts == int((rows[0] if ex is flat else rows[5])[0])
        assert await fresh.fetch_balance() == await ex.fetch_balance()
        assert fresh._version == ex._version
    assert (await flat.fetch_ticker(SYM)).ts == int(rows[5][0])  # its own copy's is the minute's


async def test_a_venue_stored_elsewhere_meanwhile_is_fed_again_on_the_stored_venue(db, rows):
    mine, other = await _stored_venues(2, rows[0])
    for ex in (mine, other):  # each holds an order on the symbol, so each feed is stored
        await ex.create_order(OrderRequest(SYM, Side.BUY, OrderType.LIMIT, D("0.01"), price=D("1000"),
                                           client_order_id="tb-far"))
    elsewhere = _copy(mine.store.account_id)  # another worker's copy of the same account
    await elsewhere.feed(SYM, rows[1])
    sell = await elsewhere.create_order(OrderRequest(SYM, Side.SELL, OrderType.LIMIT, D("0.01"),
                                                     price=D(str(max(float(r[2]) for r in rows[2:6]))),
                                                     client_order_id="tb-batch-2"))
    refused = await PaperExchange.feed_many([(mine, SYM, rows[1:6]), (other, SYM, rows[1:6])])
    assert refused == {}
    # this copy was behind: its write was refused, it reloaded and matched the other worker's order on these candles
    assert (await mine.fetch_order(SYM, sell.id)).status == OrderStatus.CLOSED
    fresh = _copy(mine.store.account_id)
    assert (await fresh.fetch_order(SYM, sell.id)).status == OrderStatus.CLOSED
    assert (await fresh.fetch_ticker(SYM)).ts == int(rows[5][0])
    assert (await _copy(other.store.account_id).fetch_ticker(SYM)).ts == int(rows[5][0])


async def test_a_venue_with_nothing_on_a_symbol_takes_only_its_last_candle(db, rows, monkeypatch):
    """15 minutes fed to venues that hold no order and no position on the symbol: nothing can match or be liquidated
    there, so only the last candle's price and time are taken (a worker's close fed 150,000 candles one by one to
    the flat bots' venues, a third of its cycle); a venue with an order open is matched candle by candle, and every
    venue ends as one fed one candle at a time does."""
    import engine.exchange.paper as paper

    venues = await _stored_venues(4, rows[0])
    one_by_one = (await _stored_venues(1, rows[0], 8400))[0]
    low = min(float(r[3]) for r in rows[1:16])
    await venues[0].create_order(OrderRequest(SYM, Side.BUY, OrderType.LIMIT, D("0.01"), price=D(str(low)),
                                              client_order_id="tb-batch-3"))
    matched = []
    real = paper.match

    def counted(sims, *args, **kwargs):
        matched.append(len(sims))
        return real(sims, *args, **kwargs)

    monkeypatch.setattr(paper, "match", counted)
    assert await PaperExchange.feed_many([(ex, SYM, rows[1:16]) for ex in venues]) == {}
    assert len(matched) == 15 + 3, matched  # the venue with an order every candle, the other three their last
    for row in rows[1:16]:
        await one_by_one.feed(SYM, row)
    for ex in venues[1:]:
        assert (await ex.fetch_ticker(SYM)) == (await one_by_one.fetch_ticker(SYM))
        assert ex._ts == one_by_one._ts and ex.balances == one_by_one.balances
        stored = _copy(ex.store.account_id)  # holding nothing there, the venue stores the price with its next change
        assert (await stored.fetch_ticker(SYM)).ts == int(rows[0][0])


async def test_a_copy_behind_an_order_on_a_symbol_it_holds_nothing_on_leaves_its_candles_to_be_matched(db, rows):
    """A copy that has not seen an order stored on the symbol since it loaded (never the case in a job, which
    rechecks its venues under the market's locks first) feeds the symbol as one holding nothing there: it stores
    nothing, so the stored venue still resumes at the order's minute, and the next copy that holds the order
    matches it on the candles after it."""
    mine = (await _stored_venues(1, rows[0], 8450))[0]
    elsewhere = _copy(mine.store.account_id)
    await elsewhere.feed(SYM, rows[1])
    sell = await elsewhere.create_order(OrderRequest(SYM, Side.SELL, OrderType.LIMIT, D("0.01"),
                                                     price=D(str(max(float(r[2]) for r in rows[2:6]))),
                                                     client_order_id="tb-batch-4"))
    assert await PaperExchange.feed_many([(mine, SYM, rows[1:6])]) == {}
    assert (await _copy(mine.store.account_id).fetch_ticker(SYM)).ts == int(rows[1][0])  # nothing stored
    assert await PaperExchange.feed_many([(elsewhere, SYM, rows[1:6])]) == {}
    assert (await _copy(mine.store.account_id).fetch_order(SYM, sell.id)).status == OrderStatus.CLOSED
