"""Orders created on many paper venues at once (the orders of one market's close, a bot's exits): stored together in
one transaction, answered only once stored, and as if each had been made alone when something goes wrong."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest

from engine.candles import load_csv
from engine.exchange.factory import make_exchange
from engine.exchange.protocol import (
    ExchangeUnavailable,
    InsufficientFunds,
    OrderInfo,
    OrderNotFound,
    OrderRequest,
    OrderType,
    Side,
)
from tests.test_paper_restart import SWAP, _account, _state

PAPER_WRITES = ('INSERT INTO "PAPER_ORDERS"', 'UPDATE "PAPER_VENUES"', 'INSERT INTO "PAPER_VENUES"')


@pytest.fixture(scope="module")
def rows(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:5].rows()


def _buy(cid: str, amount: str = "0.01") -> OrderRequest:
    return OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D(amount), cid)


async def _venues(rows, first_user: int, n: int = 3) -> tuple[list, list]:
    accounts = [await _account(telegram_id=first_user + k) for k in range(n)]
    venues = [make_exchange(acc, None) for acc in accounts]
    for ex in venues:
        await ex.feed(SWAP, rows[0])  # stored once: the batch writes over a version
    return accounts, venues


def _writes(records: list[logging.LogRecord]) -> list[str]:
    return [m for r in records if r.name == "tortoise.db_client"
            and (m := r.getMessage()).lstrip().upper().startswith(PAPER_WRITES)]


async def test_orders_on_several_venues_are_stored_together_and_kept_across_a_restart(db, rows, caplog):
    accounts, venues = await _venues(rows, 7780001)
    calls = [(ex, _buy(f"a{k}-{j}")) for j in range(2) for k, ex in enumerate(venues)]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        answers = await venues[0].create_many(calls)
    assert all(isinstance(a, OrderInfo) for a in answers), answers
    assert [a.id for a in answers] == ["O1", "O1", "O1", "O2", "O2", "O2"]  # each venue's calls in their order
    writes = _writes(caplog.records)
    assert len([w for w in writes if w.upper().startswith('INSERT INTO "PAPER_ORDERS"')]) == 1, writes
    assert len([w for w in writes if "PAPER_VENUES" in w.upper()]) == (1 if db.dialect == "postgres" else 3), writes
    for acc, ex in zip(accounts, venues, strict=True):  # a new process sees each venue as its copy is
        assert await _state(make_exchange(acc, None)) == await _state(ex)
        assert [o.client_order_id for o in await make_exchange(acc, None).fetch_open_orders()] == [
            f"a{venues.index(ex)}-0", f"a{venues.index(ex)}-1"]


async def test_a_refusal_in_a_batch_is_the_venues_answer_and_the_rest_are_stored(db, rows):
    accounts, venues = await _venues(rows, 7780011, 2)
    answers = await venues[0].create_many([(venues[0], _buy("fine")), (venues[1], _buy("too-big", "1000")),
                                           (venues[1], _buy("fine-too"))])
    assert isinstance(answers[0], OrderInfo) and isinstance(answers[2], OrderInfo)
    assert isinstance(answers[1], InsufficientFunds)
    assert [o.client_order_id for o in await make_exchange(accounts[1], None).fetch_open_orders()] == ["fine-too"]


async def test_a_batch_that_cannot_be_stored_answers_unknown_and_keeps_nothing(db, rows, monkeypatch):
    from engine.exchange import paper_batch

    _, venues = await _venues(rows, 7780021, 2)

    async def broken(changes, conn=None):
        raise ConnectionError("database gone")

    monkeypatch.setattr(paper_batch, "save_changes", broken)
    answers = await venues[0].create_many([(ex, _buy(f"lost{k}")) for k, ex in enumerate(venues)])
    assert all(isinstance(a, ExchangeUnavailable) for a in answers), answers  # unknown: looked up by client id
    monkeypatch.undo()
    for k, ex in enumerate(venues):
        with pytest.raises(OrderNotFound):
            await ex.fetch_order(SWAP, client_order_id=f"lost{k}")
        assert (await ex.create_order(_buy(f"kept{k}"))).id == "O1"  # what was never stored is not there


async def test_a_venue_another_process_stored_meanwhile_takes_its_orders_on_the_venue_as_stored(db, rows):
    accounts, venues = await _venues(rows, 7780031, 2)
    other = make_exchange(accounts[1], None)  # another process's copy of the second account
    await other.create_order(_buy("from-other"))  # the batch's copy is now one version behind
    answers = await venues[0].create_many([(ex, _buy(f"batch{k}")) for k, ex in enumerate(venues)])
    assert [a.id for a in answers] == ["O1", "O2"]  # the second taken after the other process's order
    stored = [o.client_order_id for o in await make_exchange(accounts[1], None).fetch_open_orders()]
    assert stored == ["from-other", "batch1"]
    assert await _state(make_exchange(accounts[1], None)) == await _state(venues[1])


async def test_a_batch_cancelled_while_it_stores_leaves_no_copy_ahead_of_the_store(db, rows, monkeypatch):
    import asyncio

    from engine.exchange import paper_batch

    _, venues = await _venues(rows, 7780041, 2)

    async def cancelled(changes, conn=None):
        raise asyncio.CancelledError

    monkeypatch.setattr(paper_batch, "save_changes", cancelled)
    with pytest.raises(asyncio.CancelledError):
        await venues[0].create_many([(ex, _buy(f"cut{k}")) for k, ex in enumerate(venues)])
    monkeypatch.undo()
    for ex in venues:  # each copy reloaded: the orders that were never stored are not there
        assert await ex.fetch_open_orders() == []


async def test_venues_stored_elsewhere_during_a_batch_take_their_orders_together_without_reloading(db, rows,
                                                                                                  monkeypatch):
    from engine.exchange import paper_batch
    from engine.exchange.paper_store import PaperStore

    accounts, venues = await _venues(rows, 7780051, 4)
    for ex in venues:
        await ex.fetch_balance()  # each copy loaded: it writes over the version it holds, as a worker's kept copy
    for acc in accounts[:2]:  # another process feeds the next minute and sets a leverage: only the document moves
        other = make_exchange(acc, None)
        await other.feed(SWAP, rows[1])  # not stored by itself: the venue holds nothing on the symbol
        await other.set_leverage(SWAP, 4)  # stored, with the minute
    await make_exchange(accounts[2], None).create_order(_buy("from-other"))  # an order elsewhere
    loads, batches = [], []
    real_load, real_save = PaperStore.load, paper_batch.save_changes

    async def load(store, history):
        loads.append(store.account_id)
        return await real_load(store, history)

    async def save(changes, conn=None):
        batches.append(sorted(a for a, _, _ in changes))
        return await real_save(changes, conn)

    monkeypatch.setattr(PaperStore, "load", load)
    monkeypatch.setattr(paper_batch, "save_changes", save)
    answers = await venues[0].create_many([(ex, _buy(f"batch{k}")) for k, ex in enumerate(venues)])
    monkeypatch.undo()
    assert [a.id for a in answers] == ["O1", "O1", "O2", "O1"], answers  # the third after the other's order
    assert loads == []  # each copy behind read only what moved
    ids = [acc.id for acc in accounts]
    if db.dialect == "postgres":  # the rows locked and the copies made current first: written once, never refused
        assert batches == [ids]
    else:  # the three refused went back to the versions they held and were made again together, not one by one
        assert batches == [ids, ids[:3]]
    for acc, ex in zip(accounts, venues, strict=True):
        assert await _state(make_exchange(acc, None)) == await _state(ex)
    assert (await venues[0].fetch_ticker(SWAP)).ts == int(rows[1][0])  # the other's minute kept
    assert [o.client_order_id for o in await venues[2].fetch_open_orders()] == ["from-other", "batch2"]


async def test_a_lone_call_on_a_copy_stored_elsewhere_reads_only_what_moved(db, rows, monkeypatch):
    from engine.exchange.paper_store import PaperStore

    accounts, venues = await _venues(rows, 7780061, 1)
    mine = venues[0]
    await mine.create_order(_buy("mine-1"))
    await make_exchange(accounts[0], None).create_order(_buy("from-other"))
    loads = []
    real_load = PaperStore.load

    async def load(store, history):
        loads.append(store.account_id)
        return await real_load(store, history)

    monkeypatch.setattr(PaperStore, "load", load)
    assert (await mine.create_order(_buy("mine-2"))).id == "O3"  # refused once, made again on the venue as stored
    monkeypatch.undo()
    assert loads == []
    assert await _state(make_exchange(accounts[0], None)) == await _state(mine)
