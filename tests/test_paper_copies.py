"""A paper venue's copy that a worker keeps across its jobs, when another process stored the venue meanwhile: a change
of the venue's document only (candles fed, nothing matched) is taken from the stored document, read with the versions;
a change to its orders or trades reloads the copy."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest

from engine.candles import load_csv
from engine.exchange.paper_store import PaperStore
from engine.exchange.protocol import OrderRequest, OrderStatus, OrderType, Side
from tests.test_paper_feed_batched import SYM, _copy, _stored_venues


@pytest.fixture(scope="module")
def rows(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:10].rows()


def _reads(records) -> list[str]:
    return [r.getMessage() for r in records if r.name == "tortoise.db_client"
            and r.getMessage().lstrip().upper().startswith("SELECT") and '"paper_' in r.getMessage()]


async def _recheck(ex) -> None:
    a = ex.store.account_id
    version, doc = (await PaperStore.documents([a]))[a]
    ex.recheck(version, doc)


async def test_a_kept_copy_takes_a_document_change_without_reloading_and_reloads_for_an_order_change(db, rows, caplog):
    mine = (await _stored_venues(1, rows[0], 8500))[0]
    high = D(str(max(float(r[2]) for r in rows[:10]) * 2))
    sell = await mine.create_order(OrderRequest(SYM, Side.SELL, OrderType.LIMIT, D("0.01"), price=high,
                                                client_order_id="tb-copy-1"))
    elsewhere = _copy(mine.store.account_id)  # another worker's copy: it feeds two minutes, nothing matches
    await elsewhere.feed(SYM, rows[1])
    await elsewhere.feed(SYM, rows[2])
    await _recheck(mine)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        assert (await mine.fetch_ticker(SYM)).ts == int(rows[2][0])
        assert (await mine.fetch_order(SYM, sell.id)).status == OrderStatus.OPEN
    assert _reads(caplog.records) == []  # taken from the document read with the version: no reload
    await mine.feed(SYM, rows[3])  # this copy writes over the version it took
    assert (await _copy(mine.store.account_id).fetch_ticker(SYM)).ts == int(rows[3][0])

    await elsewhere.cancel_order(SYM, sell.id)  # the orders change elsewhere: the copy reloads them
    await _recheck(mine)
    assert (await mine.fetch_order(SYM, sell.id)).status == OrderStatus.CANCELED
    assert (await mine.fetch_ticker(SYM)).ts == int(rows[3][0])
    assert await mine.fetch_balance() == await _copy(mine.store.account_id).fetch_balance()


async def test_a_batch_fed_venue_whose_document_moved_elsewhere_is_fed_again_without_reloading(db, rows, caplog):
    """Two workers' jobs feed one account's venue at once (one symbol each): the second batch's write is refused; its
    copy takes the stored document (read for the batch's refused venues at once) and is fed again, without
    reloading its orders and trades (four reads and a write of its own each, thousands a cycle on 2 workers)."""
    from engine.exchange.paper import PaperExchange

    mine = (await _stored_venues(1, rows[0], 8600))[0]
    await mine.fetch_ticker(SYM)  # loaded
    elsewhere = _copy(mine.store.account_id)
    await elsewhere.feed(SYM, rows[1])
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        assert await PaperExchange.feed_many([(mine, SYM, rows[1:6])]) == {}
    loads = [m for m in _reads(caplog.records)  # all but the documents' read and the write's row locks
             if '"account_id" IN' not in m and "FOR UPDATE" not in m]
    assert loads == [], loads
    fresh = _copy(mine.store.account_id)
    assert (await fresh.fetch_ticker(SYM)).ts == int(rows[5][0])
    assert fresh._version == mine._version
