"""A paper venue that outlives its process: restored from its store before it answers, each change stored first.

A PaperExchange with a `store` (engine/exchange/paper_store.PaperStore) loads the stored venue on its first call that
reads or changes the account, and writes every change (an order accepted, a cancel, a candle's matches, a leverage)
in one transaction with the orders and trades it touched before the call returns. A call whose write fails leaves
nothing behind: the copy in memory is dropped, reloaded from the store on the next call, and the caller gets
ExchangeUnavailable (for an order: unknown outcome, resolved by client id). Without a store nothing of this runs.
Candles fed on symbols where a stored venue holds nothing (nothing to match or liquidate) move only its prices: those
are kept by the copy (`_unsaved`) and stored with its next change, and put back over any stored document it takes.
A copy kept while other processes may write the venue (a worker's, across its jobs) is `recheck`ed against the stored
version and, if it moved on, takes the stored document or reads the orders and trades it lacks; a write over a newer
version is refused anyway (StaleVenue).

Memory holds the open orders and the newest `history` closed orders and trades (by id: the same after a restart as in
an uninterrupted run); older ones stay in the store and are read when asked for (an order by id or client id, trades
after an old cursor), so a long-lived account's memory does not grow with its history.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import re
from collections.abc import Coroutine, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from engine.exchange.paper_state import PaperOrder, VenueState
from engine.exchange.paper_store import Change, PaperStore, StaleVenue, Stored
from engine.exchange.protocol import ExchangeError, ExchangeUnavailable, OrderStatus, Trade

# What the engine asks of a venue's past is recent: fills are polled every minute after the cursor of the last poll
# (engine/runtime/fills.py: the trades of one candle per symbol, the grid levels inside its range), and an order is
# looked up by client id when it left the open ones since the last reconcile (orders.py refresh). 100 of each is
# ~0.25 MB an account (bench/paper_load.py); a read past them (a new bot's first poll, a catch-up after downtime)
# is one indexed query, answered as memory would have.
log = logging.getLogger(__name__)
HISTORY = 100
# A call made again on the venue as stored after another process stored it (see `changing`), after a random pause of
# up to STALE_PAUSE seconds times the attempt: writers that collided fall out of step. 4 workers' jobs on the
# markets of one account collide up to about ten at once (a cold cycle); 3 immediate retries left bots unattached.
STALE_RETRIES = 10
STALE_PAUSE = 0.005
# A feed's change is found from its symbols alone (`_change`'s `fed`), on the rule that between calls a stored copy is
# its stored document but for the prices in `_unsaved`; set (the test suite sets it), every such feed also builds the
# whole document and fails on any difference, so the rule is checked wherever the tests feed a venue.
CHECK_FEEDS = os.environ.get("TB_CHECK_PAPER_FEEDS") == "1"


class VenueLock(asyncio.Lock):
    """One call at a time on a venue; a pickled venue (a test's exchange that outlives its process) gets a new one."""

    def __reduce__(self):
        return VenueLock, ()


def reading(fn):
    """A call that reads the account: after the stored venue is loaded, never half-way through a change."""

    @functools.wraps(fn)
    async def call(self, *a, **kw):
        held = HELD.get()
        if held is not None and id(self) in held.venues:  # the batch's task, under the batch's lock
            await self._ensure()
            return await fn(self, *a, **kw)
        async with self._lock:
            await self._ensure()
            return await fn(self, *a, **kw)

    return call


def changing(fn):
    """A call that may change the account: stored before it returns. Refusals (ExchangeError) change nothing.
    When another process stored the venue since this copy loaded it (jobs of two markets of one account on two
    workers), nothing was written: the call is made again on the venue as stored, as an exchange would take the
    second of two requests, up to `STALE_RETRIES` times (a short random pause before each). Inside a batch that
    holds the venue (`Held`), the call is made under the batch's lock and stored with the batch's other calls
    (engine/exchange/paper_batch.py)."""

    @functools.wraps(fn)
    async def call(self, *a, **kw):
        held = HELD.get()
        if held is not None and id(self) in held.venues:
            return await held.call(self, fn(self, *a, **kw))
        async with self._lock:
            attempts = 0
            while True:
                await self._ensure()
                mark = self._mark()
                try:
                    out = await fn(self, *a, **kw)
                except ExchangeError:
                    raise
                except BaseException:
                    self._forget()  # may have changed half of it: the stored venue is the truth
                    raise
                try:
                    await self._commit(mark)
                    return out
                except StaleVenue:  # nothing of this call was stored, and this copy reloads
                    attempts += 1
                    if attempts > STALE_RETRIES:
                        raise
                    await asyncio.sleep(random.uniform(0, STALE_PAUSE * attempts))

    return call


@dataclass(slots=True)
class Held:
    """Venues whose locks a batch holds (by id()): their calls, made by the batch's task, are stored by the batch
    together; `broken` are the venues where a call failed half-way (not stored: each reloads)."""

    venues: set[int]
    marks: dict[int, Any] = field(default_factory=dict)  # each venue's state before the batch's first call on it
    broken: set[int] = field(default_factory=set)

    async def call(self, venue: Persisted, made: Coroutine[Any, Any, Any]) -> Any:
        if id(venue) in self.broken:
            made.close()
            raise ExchangeUnavailable("paper venue not stored (an earlier call of its batch failed)")
        try:
            if id(venue) not in self.marks:
                await venue._ensure()
                self.marks[id(venue)] = venue._mark()
        except BaseException:
            made.close()  # the call is not made: its venue could not be loaded
            raise
        try:
            return await made
        except ExchangeError:
            raise
        except BaseException:
            self.broken.add(id(venue))
            raise


HELD: ContextVar[Held | None] = ContextVar("tb_paper_held", default=None)


class Persisted:
    """The persistence half of PaperExchange (which declares every field used here)."""

    __slots__ = ()

    async def recheck(self, stored_version: int, document: dict | None = None) -> None:
        """The store holds `stored_version` with `document` (PaperStore.documents; None when the version is this
        copy's): a copy that is behind it is read again before its next call (a worker's venue kept across its jobs:
        only when another process stored it), unless only the document moved since (candles fed elsewhere: the same
        orders and trades), which it then takes as it is; a copy behind by orders or trades reads only those it
        lacks (`_catch_up`). Taken under the venue's lock, between calls: a call in progress never sees its copy
        change under it, and a version read before this copy's own last write is older than the copy, not news."""
        if self.store is None:
            return
        async with self._lock:
            self._recheck(stored_version, document)

    def _recheck(self, stored_version: int, document: dict | None) -> None:
        """`recheck`, its caller holding the venue's lock."""
        if self.store is None or (self._version >= 0 and stored_version <= self._version):
            return
        if document is not None and self._version >= 0 and not self._behind:
            v = VenueState.from_json(document)
            if (v.seq, v.trades, v.order_writes) == (self._seq, self._trade_base + len(self._trades),
                                                     self._order_writes):
                self._take(v)
                self._stored(stored_version, document)
                self._reapply()
                return
        if self._version > 0:
            self._behind = True
        else:
            self._version = -1

    async def refresh(self) -> None:
        """This copy checked against the stored version (one small query) and `recheck`ed: for a copy kept where
        other processes write the venue and no job rechecks it (the chat's process beside workers)."""
        if self.store is None or self._version < 0:
            return  # loaded on its next call anyway
        account = self.store.account_id
        version, document = (await PaperStore.documents({account: self._version}))[account]
        await self.recheck(version, document)

    async def _ensure(self) -> None:
        if self.store is None or (self._version >= 0 and not self._behind):
            return
        if self._version >= 0:
            self._behind = False
            if await self._catch_up():
                return
        if self._initial is None:
            self._initial = dict(self.balances)
        self._restore(await self.store.load(self.history))

    async def _catch_up(self) -> bool:
        """This copy made the stored venue by reading its new orders, its open orders as stored and its new trades
        (instead of all its recent history); False when what was read does not follow on from this copy (then it
        loads whole)."""
        lacks = self._lacks()
        try:
            got = await self.store.since(*lacks)
        except BaseException:
            self._version = -1
            raise
        return self._caught_up(got, lacks)

    def _lacks(self) -> tuple[int, list[int], int, int]:
        """What a catch-up reads (PaperStore.since): the orders after this copy's and its open ones, the trades after
        its count, at most `history` of them."""
        open_seqs = [o.seq for o in self._orders.values() if o.info.status == OrderStatus.OPEN]
        return self._seq, open_seqs, self._trade_base + len(self._trades), self.history

    def _caught_up(self, got: Stored | None, lacks: tuple[int, list[int], int, int]) -> bool:
        """`got`, read for `lacks` (`_lacks`), taken: False when it does not follow on from this copy (reloaded whole
        on its next call)."""
        _, open_seqs, count, _ = lacks
        if got is None or not self._follows(got, open_seqs, count):
            self._version = -1
            return False
        v = got.venue
        self._take(v)
        for o in got.orders:
            self._orders[o.info.id] = o
            if o.info.client_order_id:
                self._by_client[o.info.client_order_id] = o.info.id
        if v.trades - count > len(got.trades):  # more new trades than memory keeps: the newest only
            self._trades, self._trade_base = got.trades, v.trades - len(got.trades)
        else:
            self._trades.extend(got.trades)
        self._version, self._saved = got.version, v.to_json()
        self._trim()
        self._reapply()
        return True

    def _follows(self, got: Stored, open_seqs: list[int], count: int) -> bool:
        """`got` (PaperStore.since) holds every order after this copy's, its open ones, and its trades after `count`
        up to the stored count (the newest `history` of them)."""
        v = got.venue
        if v.seq < self._seq or v.trades < count or not {o.seq for o in got.orders} >= set(open_seqs):
            return False
        if [o.seq for o in got.orders if o.seq > self._seq] != list(range(self._seq + 1, v.seq + 1)):
            return False
        first = v.trades - len(got.trades) + 1
        return ([t.id for t in got.trades] == [f"T{i}" for i in range(first, v.trades + 1)]
                and len(got.trades) >= min(v.trades - count, self.history))

    def _forget(self) -> None:
        if self.store is not None:
            self._version, self._behind = -1, False

    def _rollback(self, mark) -> None:
        """After a change from `mark` (`_mark`) that was not stored because another process stored the venue first:
        this copy back to the version it holds (the orders made since dropped, the open ones as they were, the new
        trades dropped, the document as stored), so that it reads only what the store holds beyond it (`recheck`,
        `_catch_up`) instead of loading it whole. A copy that was not at its stored version when marked (never
        stored, or not caught up) is forgotten instead."""
        seq, n, was_open = mark
        # an open order numbered past the document's count: a load that was not one snapshot (SQLite, another
        # writer between its reads); the call's own order took its id, so only a reload puts the copy right
        if self._version <= 0 or self._behind or (self._saved.get("seq"), self._saved.get("trades")) != (
                seq, self._trade_base + n) or any(int(i[1:]) > seq for i in was_open):
            self._forget()
            return
        for s in range(seq + 1, self._seq + 1):
            o = self._orders.pop(f"O{s}", None)
            if o is not None and o.info.client_order_id:
                self._by_client.pop(o.info.client_order_id, None)
        for i, (info, reserved) in was_open.items():
            o = self._orders[i]
            o.info, o.reserved = info, reserved
        del self._trades[n:]
        self._take(VenueState.from_json(self._saved))
        self._reapply()

    def _take(self, v: VenueState) -> None:
        """The venue's document (all but its orders and trades) taken as this copy's."""
        self.balances, self._positions, self._leverage, self._margin_mode = (v.balances, v.positions, v.leverage,
                                                                           v.margin_mode)
        self._last, self._ts, self._seq, self.fees_paid = v.last, v.ts, v.seq, v.fees_paid
        self._order_writes = v.order_writes

    def _stored(self, version: int, document: dict) -> None:
        """This copy is the stored `version`, whose document is `document` (which holds the unsaved prices it is
        as new as: this copy's own, when it wrote it)."""
        self._version, self._saved, self._order_writes = version, document, document.get("order_writes", 0)
        if self._unsaved:
            stored = document.get("ts", {})
            for symbol in [s for s, (_, ts) in self._unsaved.items() if stored.get(s, -1) >= ts]:
                del self._unsaved[symbol]

    def _reapply(self) -> None:
        """After a stored document was taken: the prices this copy was fed and did not store put back where the
        store's are older and the venue still holds nothing on the symbol (else the store's time stands, and the
        candles after it are fed again, to match what is held there now)."""
        for symbol, (last, ts) in list(self._unsaved.items()):
            if ts > self._ts.get(symbol, -1) and not self._holds(symbol):
                self._last[symbol], self._ts[symbol] = last, ts
            else:
                del self._unsaved[symbol]

    def _restore(self, stored: Stored | None) -> None:
        v = stored.venue if stored else VenueState(dict(self._initial), {}, {}, {}, {}, {}, 0, 0, self.fees_paid * 0)
        self._take(v)
        orders = stored.orders if stored else []
        self._orders = {o.info.id: o for o in orders}
        self._by_client = {o.info.client_order_id: o.info.id for o in orders if o.info.client_order_id}
        self._trades = stored.trades if stored else []
        self._trade_base = v.trades - len(self._trades)
        if [t.id for t in self._trades] != [f"T{i}" for i in range(self._trade_base + 1, v.trades + 1)] or (
                len(self._trades) < min(v.trades, self.history)):
            raise ExchangeUnavailable(f"stored paper venue holds {len(self._trades)} of its last trades, not the "
                                      f"newest {min(v.trades, self.history)} of {v.trades}")
        self._version, self._behind = (stored.version if stored else 0), False
        self._saved = v.to_json()
        self._reapply()

    def venue_state(self) -> VenueState:
        return VenueState(self.balances, self._positions, self._leverage, self._margin_mode, self._last, self._ts,
                          self._seq, self._trade_base + len(self._trades), self.fees_paid, self._order_writes)

    def _next_trade_id(self) -> str:
        return f"T{self._trade_base + len(self._trades) + 1}"

    async def _stored_order(self, order_id: str | None, client_order_id: str) -> PaperOrder | None:
        """An order memory no longer holds (only closed ones leave it): by id if given, else by client id."""
        if self.store is None or len(self._orders) >= self._seq:  # memory holds every order there is
            return None
        if order_id:
            m = re.fullmatch(r"O(\d+)", order_id)
            return await self.store.order(seq=int(m[1])) if m else None
        return await self.store.order(client_order_id=client_order_id)

    async def _client_id_taken(self, client_order_id: str) -> bool:
        if client_order_id in self._by_client:
            return True
        return await self._stored_order(None, client_order_id) is not None

    async def _trades_after(self, symbol: str, start: int, limit: int | None) -> list[Trade]:
        """Trades of `symbol` with a seq above `start`, at most `limit` (from the store when memory lacks some)."""
        if start < self._trade_base:
            return await self.store.trades(symbol, start, limit)
        return [t for t in self._trades[max(start - self._trade_base, 0):] if t.symbol == symbol][: limit or None]

    def _trim(self) -> None:
        """Memory back to the open orders and the newest `history` closed orders and trades (all stored)."""
        closed = [o for o in self._orders.values() if o.info.status != OrderStatus.OPEN]
        if len(closed) > self.history:
            closed.sort(key=lambda o: o.seq)
            for o in closed[: len(closed) - self.history]:
                del self._orders[o.info.id]
                if self._by_client.get(o.info.client_order_id or "") == o.info.id:
                    del self._by_client[o.info.client_order_id or ""]
        excess = len(self._trades) - self.history
        if excess > 0:
            del self._trades[:excess]
            self._trade_base += excess

    def _mark(self) -> tuple[int, int, dict[str, tuple[Any, Any]]] | None:
        """What a change is measured from: the order and trade counts, and the open orders (only they change)."""
        if self.store is None:
            return None
        return self._seq, len(self._trades), {i: (o.info, o.reserved) for i, o in self._orders.items()
                                              if o.info.status == OrderStatus.OPEN}

    def _change(self, mark, fed: Iterable[str] | None = None) -> Change | None:
        """What changed since `mark` (`_mark`), or None when nothing did. `fed`: the call only fed candles on these
        symbols; where nothing matched, only their prices (and the unsaved ones) can differ from the stored
        document, so the whole document is built only when one must be written (a venue fed one symbol of many by
        each market's job built all of them, on every symbol)."""
        seq, n, was_open = mark
        new = [self._orders[f"O{s}"] for s in range(seq + 1, self._seq + 1)]
        changed: list[PaperOrder] = [o for i, (info, held) in was_open.items()
                                     if (o := self._orders[i]).info is not info or o.reserved != held]
        quiet = not new and not changed and len(self._trades) == n
        by_symbols = quiet and fed is not None and self._version > 0
        if by_symbols:
            moved = self._fed_prices(fed)
            if CHECK_FEEDS:
                self._check_fed(moved)
            if moved is not None:
                self._keep_unsaved(moved)
                return None
        doc = self.venue_state().to_json()
        if not quiet:
            doc["order_writes"] += 1
        elif not by_symbols:  # else `_fed_prices` found a held symbol's price moved: the document is written
            if doc == self._saved:
                return None
            moved = self._prices_only(doc)
            if moved is not None:  # kept for the next change; nothing a reader of the store needs moved
                self._keep_unsaved(moved)
                return None
        return Change(doc, new, changed, self._trades[n:])

    def _keep_unsaved(self, moved: list[str]) -> None:
        for symbol in moved:
            self._unsaved[symbol] = (self._last[symbol], self._ts[symbol])

    def _fed_prices(self, fed: Iterable[str]) -> list[str] | None:
        """`_prices_only` for a feed of `fed` where nothing matched, from those symbols and the unsaved ones alone:
        the ones whose price or candle time moved from the stored document, or None where a symbol the venue holds
        something on moved (its document is written)."""
        saved_last, saved_ts = self._saved["last"], self._saved["ts"]
        moved = [s for s in {*fed, *self._unsaved} if s in self._ts and (
            self._ts[s] != saved_ts.get(s) or str(self._last[s]) != saved_last.get(s))]
        fresh = [s for s in moved if self._unsaved.get(s) != (self._last[s], self._ts[s])]
        return None if any(self._holds(s) for s in fresh) else moved

    def _check_fed(self, moved: list[str] | None) -> None:
        """CHECK_FEEDS: `_fed_prices` found what the whole document finds."""
        doc = self.venue_state().to_json()
        whole = [] if doc == self._saved else self._prices_only(doc)
        if (None if moved is None else sorted(moved)) != (None if whole is None else sorted(whole)):
            raise AssertionError(f"paper venue {self.store.account_id}: a feed's prices {moved} where its whole "
                                 f"document finds {whole}: memory is not the stored venue but for unsaved prices")

    def _prices_only(self, doc: dict) -> list[str] | None:
        """The symbols whose last price and candle time alone moved from the stored document in `doc`, where a
        stored venue holds nothing on any of them and nothing else moved; None otherwise."""
        saved = self._saved
        if self._version <= 0 or any(v != saved.get(k) for k, v in doc.items() if k not in ("last", "ts")):
            return None
        moved = [s for s, ts in doc["ts"].items()
                 if ts != saved["ts"].get(s) or doc["last"].get(s) != saved["last"].get(s)]
        # one kept unchanged since it was found flat is flat still: anything held since was a change, stored (which
        # took it out of `_unsaved`) or refused (and rolled back)
        fresh = [s for s in moved if self._unsaved.get(s) != (self._last[s], self._ts[s])]
        return None if any(self._holds(s) for s in fresh) else moved

    async def _commit(self, mark) -> None:
        if mark is None or (change := self._change(mark)) is None:
            return
        try:
            version = await self.store.save(self._version, change)
        except StaleVenue:
            self._rollback(mark)
            self._behind = self._version > 0  # what moved is read before the call is made again
            raise
        except BaseException as e:
            self._version = -1
            if isinstance(e, ExchangeError) or not isinstance(e, Exception):
                raise
            raise ExchangeUnavailable(f"paper venue not stored ({type(e).__name__})") from e
        self._stored(version, change.venue)
        self._trim()
