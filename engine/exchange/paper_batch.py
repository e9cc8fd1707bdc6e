"""Calls on many paper venues stored together: closed candles fed (`feed_venues`) and orders created
(`create_on_venues`), each venue's changes written with the others' in one transaction instead of one each."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db.models import PaperVenue
from engine.exchange.paper_persist import HELD, STALE_RETRIES, Held
from engine.exchange.paper_store import PaperStore, StaleVenue, save_changes, save_documents
from engine.exchange.protocol import ExchangeError, ExchangeUnavailable, OrderRequest

log = logging.getLogger(__name__)
FEED_BATCH = 200  # venues held at once by one `feed_venues` batch (their other calls wait for its write)


async def feed_venues(feeds: list[tuple[Any, str, list[list[float]]]], *,
                      attempt: int = 0) -> dict[int, ExchangeError]:
    """Closed candles fed to many paper venues ((PaperExchange, symbol, rows) each), as their `feed_candles` would,
    but stored together: a venue where nothing matched (only its last prices and candle times moved, as on most
    minutes) is written with the others in one transaction (paper_store.save_documents); one where something
    matched is stored by itself, as before; one that another process stored meanwhile is fed again on the venue as
    stored (where only the stored document moved, as when two workers feed two symbols of one account, the copies
    take the documents, read together, and are fed together again, up to STALE_RETRIES times). Returns the
    refusals by venue (id() of the PaperExchange: it catches up on its next feed; the others go on)."""
    by_venue: dict[int, tuple[Any, list[tuple[str, list]]]] = {}
    for ex, symbol, rows in feeds:
        by_venue.setdefault(id(ex), (ex, []))[1].append((symbol, rows))
    venues = sorted(by_venue.values(), key=lambda v: _account(v[0]))  # one order: two batches never deadlock
    errors: dict[int, ExchangeError] = {}
    again: list[tuple[Any, list[tuple[str, list]]]] = []
    moved: list[Any] = []  # refused by the documents' write: stored elsewhere since
    for i in range(0, len(venues), FEED_BATCH):
        async with contextlib.AsyncExitStack() as held:
            docs = []
            for ex, items in venues[i:i + FEED_BATCH]:
                await held.enter_async_context(ex._lock)
                try:
                    await ex._ensure()
                    mark = ex._mark()
                    for symbol, rows in items:
                        ex._feed_rows(symbol, rows)
                    if mark is None:
                        continue
                    change = ex._change(mark, fed=[symbol for symbol, _ in items])
                    if change is None:
                        continue
                    if ex._version > 0 and not (change.new_orders or change.changed_orders or change.new_trades):
                        docs.append((ex, change.venue))
                    else:
                        await ex._commit(mark)
                except StaleVenue:
                    again.append((ex, items))
                except ExchangeError as e:
                    ex._forget()
                    errors[id(ex)] = e
                except BaseException:
                    ex._forget()
                    raise
            failed = False
            try:
                written = await save_documents([(ex.store.account_id, ex._version, doc) for ex, doc in docs])
            except Exception as e:  # nothing of the batch was stored: each copy reloads, and is fed again
                log.warning("paper venues not stored together (%s): fed one by one", type(e).__name__)
                written, failed = set(), True
            for ex, doc in docs:
                if ex.store.account_id in written:
                    ex._stored(ex._version + 1, doc)
                elif failed or attempt >= STALE_RETRIES:
                    ex._forget()
                    again.append((ex, by_venue[id(ex)][1]))
                else:
                    moved.append(ex)
    if moved:  # their orders and trades are as this copy holds them (a document change): only the documents read
        stored = await PaperStore.documents({ex.store.account_id: ex._version for ex in moved})
        for ex in moved:
            await ex.recheck(*stored[ex.store.account_id])
        await catch_up_together(moved)
        errors.update(await feed_venues([(ex, s, rows) for ex in moved for s, rows in by_venue[id(ex)][1]],
                                        attempt=attempt + 1))
    for ex, items in again:
        try:
            for symbol, rows in items:
                await ex.feed_candles(symbol, rows)
        except ExchangeError as e:
            errors[id(ex)] = e
    return errors


def _account(ex: Any) -> int:
    return ex.store.account_id if ex.store is not None else 0


async def catch_up_together(venues: list[Any]) -> None:
    """The copies that `recheck` found behind the store by orders or trades read what they lack together (one
    statement on PostgreSQL, `PaperStore.since_many`) instead of one each on their next call, under their locks (a
    copy is shared by a worker's jobs); one whose read does not follow on is loaded whole on its next call."""
    behind = sorted((v for v in venues if v.store is not None and v._behind and v._version > 0), key=_account)
    if not behind:
        return
    async with contextlib.AsyncExitStack() as locks:
        for v in behind:
            await locks.enter_async_context(v._lock)
        await _catch_up_held(behind)


async def _catch_up_held(venues: list[Any]) -> None:
    """`catch_up_together`, the caller holding the venues' locks."""
    # chosen again under the locks: a call made while they were awaited may have caught a copy up, or dropped it
    behind = [v for v in venues if v.store is not None and v._behind and v._version > 0]
    if not behind:
        return
    lacks = {v.store.account_id: v._lacks() for v in behind}
    try:
        got = await PaperStore.since_many(lacks)
    except BaseException:
        for v in behind:
            v._forget()
        raise
    for v in behind:
        v._behind = False
        v._caught_up(got[v.store.account_id], lacks[v.store.account_id])


@contextlib.asynccontextmanager
async def _current(venues: list[Any]) -> AsyncIterator[BaseDBAsyncClient | None]:
    """On PostgreSQL, a transaction holding the stored rows of `venues` (whose locks the caller holds) until it
    ends, each copy first made its stored venue (the documents read with the locks, what moved in orders and trades
    read together): what the caller writes over them in it is never refused by another process's write, where a
    refusal cost the calls, the rollback, the reads and the write again (two workers' jobs on the markets of one
    account placing at once). Elsewhere (SQLite: one process) nothing: a write over a newer version is refused."""
    stored = [v for v in venues if v.store is not None]
    if not stored or PaperVenue._meta.db.capabilities.dialect != "postgres":
        yield None
        return
    async with in_transaction() as conn:
        current = await PaperStore.lock_documents(conn, {v.store.account_id: v._version for v in stored})
        for v in stored:
            v._recheck(*current[v.store.account_id])
        await _catch_up_held(stored)
        yield conn


async def create_on_venues(calls: list[tuple[Any, OrderRequest]], *, attempt: int = 0) -> list[Any]:
    """Orders created on paper venues, `calls` being (exchange, request) with the exchange as the runtime holds it
    (`paper_venue` reaches the venue through a wrapper): each venue's calls in their order under its lock, every
    venue held at once (in account order, as `feed_venues`), and all the changes stored in one transaction before
    any answer is given (paper_store.save_changes). Returns, per call, its OrderInfo or the error it raised: a
    refusal as the venue gives it; when the write failed, ExchangeUnavailable (the order is unknown, resolved by
    client id as after a lone create whose write failed). On PostgreSQL the stored rows are locked and each copy
    made its stored venue before the calls (`_current`), so no other process's write comes between. Elsewhere the
    venues another process stored meanwhile go back to the versions they held, read what moved (the documents
    together, the orders and trades only where those moved) and have their calls made again together, up to
    STALE_RETRIES times. A venue never stored yet, or still refused then, has its calls made again one by one on
    the venue as stored."""
    out: list[Any] = [None] * len(calls)
    venues = {id(ex.paper_venue): ex.paper_venue for ex, _ in calls}
    alone: set[int] = set()  # venues whose calls are made again one by one, outside the batch
    moved: dict[int, Any] = {}  # venues whose calls are made again together, on the venues as stored
    async with contextlib.AsyncExitStack() as locks:
        for v in sorted(venues.values(), key=_account):
            await locks.enter_async_context(v._lock)
        held = Held(set(venues))
        try:
            changes = []
            try:
                async with _current(list(venues.values())) as conn:
                    token = HELD.set(held)
                    try:
                        for i, (ex, request) in enumerate(calls):
                            try:
                                out[i] = await ex.create_order(request)
                            except Exception as e:  # each call's own outcome, given back with the others'
                                out[i] = e
                    finally:
                        HELD.reset(token)
                    for key, mark in held.marks.items():
                        v = venues[key]
                        if key in held.broken or mark is None:
                            if key in held.broken:
                                v._forget()
                            continue
                        change = v._change(mark)
                        if change is None:
                            continue
                        if v._version > 0:
                            changes.append((v, change))
                        else:
                            v._forget()
                            alone.add(key)
                    written = await save_changes([(v.store.account_id, v._version, change) for v, change in changes],
                                                 conn)
            except Exception as e:  # nothing of the batch was stored
                log.warning("paper venues' orders not stored together (%s)", type(e).__name__)
                lost = ExchangeUnavailable(f"paper venue not stored ({type(e).__name__})")
                for key in held.marks:  # the venues whose calls were made (a failure before them made none)
                    venues[key]._forget()
                    held.broken.add(key)
                written, unknown = set(), lost
                out = [lost if answer is None else answer for answer in out]  # calls never made: nothing was sent
            else:
                unknown = ExchangeUnavailable("paper venue not stored (an earlier call of its batch failed)")
            for v, change in changes:
                if v.store.account_id in written:
                    v._stored(v._version + 1, change.venue)
                    v._trim()
                elif id(v) not in held.broken:
                    v._rollback(held.marks[id(v)])
                    if v._version > 0 and attempt < STALE_RETRIES:
                        moved[id(v)] = v
                    else:
                        v._forget()
                        alone.add(id(v))
            for i, (ex, _) in enumerate(calls):  # answers that were not stored are not answers
                if id(ex.paper_venue) in held.broken and not isinstance(out[i], Exception):
                    out[i] = unknown
        except BaseException:  # cancelled, or a bug, half-way: no copy may keep what was not stored
            for key in held.marks:
                venues[key]._forget()
            raise
    if moved:
        stored = await PaperStore.documents({v.store.account_id: v._version for v in moved.values()})
        for v in moved.values():
            await v.recheck(*stored[v.store.account_id])
        await catch_up_together(list(moved.values()))
        again = [i for i, (ex, _) in enumerate(calls) if id(ex.paper_venue) in moved]
        for i, answer in zip(again, await create_on_venues([calls[i] for i in again], attempt=attempt + 1),
                             strict=True):
            out[i] = answer
    for i, (ex, request) in enumerate(calls):
        if id(ex.paper_venue) in alone:
            try:
                out[i] = await ex.create_order(request)
            except Exception as e:
                out[i] = e
    return out
