"""A paper venue's copy that a worker keeps across its jobs, when another process stored the venue meanwhile: a change
of the venue's document only (candles fed, nothing matched) is taken from the stored document, read with the versions;
a change to its orders or trades is read as that: the new orders, the open ones as stored, the new trades (one
statement on PostgreSQL), and a venue loaded whole is read in one snapshot."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal as D

import pytest
from tortoise.transactions import in_transaction

from engine.candles import load_csv
from engine.exchange.paper import PaperExchange
from engine.exchange.paper_store import PaperStore
from engine.exchange.protocol import MarketType, OrderRequest, OrderStatus, OrderType, Side
from tests.test_paper_feed_batched import BALANCES, SYM, _copy, _stored_venues


@pytest.fixture(scope="module")
def rows(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:10].rows()


def _reads(records) -> list[str]:
    return [r.getMessage() for r in records if r.name == "tortoise.db_client"
            and r.getMessage().lstrip().upper().startswith("SELECT") and '"paper_' in r.getMessage()]


async def _recheck(ex) -> None:
    a = ex.store.account_id
    version, doc = (await PaperStore.documents({a: ex._version}))[a]
    await ex.recheck(version, doc)


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


async def _holding(ex: PaperExchange) -> None:
    """A sell resting far above every candle: the venue holds an order on the symbol, so each candle fed is stored
    (a feed that moves only the prices of symbols a venue holds nothing on waits for its next change)."""
    await ex.create_order(OrderRequest(SYM, Side.SELL, OrderType.LIMIT, D("0.01"), price=D("1000000"),
                                       client_order_id="tb-far"))


async def test_the_versions_read_send_only_the_documents_of_venues_that_moved(db, rows):
    mine, other = await _stored_venues(2, rows[0], 8900)
    await _holding(other)
    await _copy(other.store.account_id).feed(SYM, rows[1])  # stored elsewhere: one version on
    never = mine.store.account_id + other.store.account_id + 1000
    got = await PaperStore.documents({mine.store.account_id: mine._version, other.store.account_id: other._version,
                                      never: 0})
    assert got[mine.store.account_id] == (mine._version, None)  # current: no document sent
    version, doc = got[other.store.account_id]
    assert version == other._version + 1 and doc["ts"] == {SYM: int(rows[1][0])}
    assert got[never] == (0, None)


async def test_a_recheck_waits_for_the_call_in_progress_and_ignores_a_version_older_than_the_copy(db, rows):
    mine = (await _stored_venues(1, rows[0], 9000))[0]
    await _holding(mine)
    a = mine.store.account_id
    before, doc = (await PaperStore.documents({a: -1}))[a]  # read by a job ...
    await mine.feed(SYM, rows[1])  # ... before this copy's own next write
    await mine.recheck(before, doc)
    assert mine._version == before + 1 and (await mine.fetch_ticker(SYM)).ts == int(rows[1][0])  # not taken back

    await _copy(a).feed(SYM, rows[2])  # stored elsewhere, while a call holds this copy
    version, doc = (await PaperStore.documents({a: mine._version}))[a]
    async with mine._lock:
        rechecked = asyncio.create_task(mine.recheck(version, doc))
        await asyncio.sleep(0.05)
        assert not rechecked.done() and mine._version == before + 1  # the call in progress keeps its copy as it was
    await rechecked
    assert mine._version == version and (await mine.fetch_ticker(SYM)).ts == int(rows[2][0])


async def test_a_batch_fed_venue_whose_document_moved_elsewhere_is_fed_again_without_reloading(db, rows, caplog):
    """Two workers' jobs feed one account's venue at once (one symbol each): the second batch's write is refused; its
    copy takes the stored document (read for the batch's refused venues at once) and is fed again, without
    reloading its orders and trades (four reads and a write of its own each, thousands a cycle on 2 workers)."""
    from engine.exchange.paper import PaperExchange

    mine = (await _stored_venues(1, rows[0], 8600))[0]
    await _holding(mine)
    elsewhere = _copy(mine.store.account_id)
    await elsewhere.feed(SYM, rows[1])
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        assert await PaperExchange.feed_many([(mine, SYM, rows[1:6])]) == {}
    loads = [m for m in _reads(caplog.records)  # all but the documents' read and the write's row locks
             if '"account_id" IN' not in m and "unnest(" not in m and "FOR UPDATE" not in m]
    assert loads == [], loads
    fresh = _copy(mine.store.account_id)
    assert (await fresh.fetch_ticker(SYM)).ts == int(rows[5][0])
    assert fresh._version == mine._version


def _short(account_id: int) -> PaperExchange:
    """A copy keeping 3 closed orders and 3 trades in memory."""
    return PaperExchange(MarketType.SPOT, {k: D(v) for k, v in BALANCES.items()}, store=PaperStore(account_id),
                         history=3)


def _held(ex: PaperExchange) -> tuple:
    return (ex._version, ex._seq, ex._trade_base, ex._order_writes, ex.balances, ex._positions, ex._last,
            {i: (o.info, o.reserved) for i, o in ex._orders.items()}, ex._by_client, [t.id for t in ex._trades])


async def test_a_copy_behind_by_orders_reads_only_what_it_lacks_and_holds_what_a_fresh_load_would(db, rows, caplog):
    a = (await _stored_venues(1, rows[0], 8700))[0].store.account_id
    mine = _short(a)
    low = D(str(min(float(r[3]) for r in rows) / 2))

    def limit(cid: str) -> OrderRequest:
        return OrderRequest(SYM, Side.BUY, OrderType.LIMIT, D("0.01"), price=low, client_order_id=cid)

    def market(cid: str) -> OrderRequest:
        return OrderRequest(SYM, Side.BUY, OrderType.MARKET, D("0.001"), client_order_id=cid)

    kept = await mine.create_order(limit("tb-behind-l1"))
    gone = await mine.create_order(limit("tb-behind-l2"))
    for i in range(4):  # filled by the next candle fed: more closed orders and trades than memory keeps
        await mine.create_order(market(f"tb-behind-m{i}"))
    elsewhere = _short(a)  # another worker: a cancel, a new resting order, more fills than memory keeps
    await elsewhere.cancel_order(SYM, gone.id)
    await elsewhere.create_order(limit("tb-behind-l3"))
    for i in range(4, 9):
        await elsewhere.create_order(market(f"tb-behind-m{i}"))
    await elsewhere.feed(SYM, rows[1])
    await _recheck(mine)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        balance = await mine.fetch_balance()
    reads = _reads(caplog.records)
    assert len(reads) == (1 if db.dialect == "postgres" else 3), reads  # whole: 4 reads, 3 closed orders, 3 trades
    fresh = _short(a)
    assert await fresh.fetch_balance() == balance
    assert _held(mine) == _held(fresh)
    assert (await mine.fetch_order(SYM, gone.id)).status == OrderStatus.CANCELED  # past memory: from the store
    assert (await mine.fetch_order(SYM, kept.id)).status == OrderStatus.OPEN
    await mine.create_order(market("tb-behind-m9"))  # it writes over the version it caught up to
    await mine.feed(SYM, rows[2])
    assert len((await _short(a).fetch_my_trades(SYM, since=0)).trades) == 10


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_venue_loaded_while_another_process_stores_it_is_all_before_or_all_after(db, rows):
    """The load's reads wait behind a transaction that cancels an order: read in one statement, the copy holds the
    cancel and its released funds together (read in several, it held the venue before and the order after)."""
    a = (await _stored_venues(1, rows[0], 8800))[0].store.account_id
    first = _copy(a)
    low = D(str(min(float(r[3]) for r in rows) / 2))
    order = await first.create_order(OrderRequest(SYM, Side.BUY, OrderType.LIMIT, D("0.01"), price=low,
                                                  client_order_id="tb-snap-1"))
    locked, loading = asyncio.Event(), asyncio.Event()

    async def cancel_behind_a_lock() -> None:
        async with in_transaction() as conn:
            await conn.execute_query('LOCK TABLE "paper_orders" IN ACCESS EXCLUSIVE MODE')
            locked.set()
            await loading.wait()
            for _ in range(200):  # until the load waits for the lock
                waiting = await conn.execute_query_dict(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                if waiting[0]["n"]:
                    break
                await asyncio.sleep(0.01)
            await first.cancel_order(SYM, order.id)  # stored in this transaction

    writer = asyncio.create_task(cancel_behind_a_lock())
    await locked.wait()
    second = _copy(a)
    load = asyncio.create_task(second.fetch_balance())
    loading.set()
    await writer
    balance = await load
    assert (await second.fetch_order(SYM, order.id)).status == OrderStatus.CANCELED
    assert balance == await _copy(a).fetch_balance()
    assert _held(second) == _held(first)


async def test_copies_behind_by_orders_read_what_they_lack_together(db, rows, caplog):
    """A job's venues that other processes stored orders on since this worker used them (found by the one read of
    their versions) read their new orders and trades together, in one statement on PostgreSQL, instead of one
    each at their next call; each then holds what a fresh load would."""
    from engine.exchange.paper_batch import catch_up_together

    venues = await _stored_venues(3, rows[0], 9100)
    low = D(str(min(float(r[3]) for r in rows) / 2))
    for k, ex in enumerate(venues):
        await _copy(ex.store.account_id).create_order(OrderRequest(SYM, Side.BUY, OrderType.LIMIT, D("0.01"),
                                                                   price=low, client_order_id=f"tb-else-{k}"))
    await _recheck(venues[0])
    stored = await PaperStore.documents({ex.store.account_id: ex._version for ex in venues[1:]})
    for ex in venues[1:]:
        await ex.recheck(*stored[ex.store.account_id])
    assert all(ex._behind for ex in venues)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        await catch_up_together(venues)
    assert len(_reads(caplog.records)) == (1 if db.dialect == "postgres" else 3 * 3), _reads(caplog.records)
    for ex in venues:
        fresh = _copy(ex.store.account_id)
        await fresh.fetch_balance()
        assert not ex._behind and _held(ex) == _held(fresh)
        assert [o.client_order_id for o in await ex.fetch_open_orders(SYM)] == [
            f"tb-else-{venues.index(ex)}"]
