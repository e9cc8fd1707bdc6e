"""A paper account's venue in the database: its open orders and recent history loaded on first use, older orders and
trades read when asked for, each change written in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from db.models import PaperVenue, PaperVenueOrder, PaperVenueTrade
from engine.exchange.paper_state import (
    PaperOrder,
    VenueState,
    order_from_json,
    order_to_json,
    trade_from_json,
    trade_to_json,
)
from engine.exchange.protocol import ExchangeUnavailable, OrderStatus, Trade


class StaleVenue(ExchangeUnavailable):
    """The stored venue moved on without us (another process wrote it): this copy reloads before answering."""


@dataclass(slots=True)
class Stored:
    version: int
    venue: VenueState
    orders: list[PaperOrder]  # by seq: the open ones and the newest closed ones
    trades: list[Trade]  # by seq: the newest ones (the last is "T{venue.trades}")


@dataclass(slots=True)
class Change:
    """What one call did to the venue: the new venue document (VenueState.to_json), its new and changed orders, its
    new trades."""

    venue: dict
    new_orders: list[PaperOrder]
    changed_orders: list[PaperOrder]
    new_trades: list[Trade]


class PaperStore:
    """The stored venue of one paper account (rows of db.models.PaperVenue, PaperVenueOrder, PaperVenueTrade)."""

    def __init__(self, account_id: int):
        self.account_id = account_id

    async def load(self, history: int) -> Stored | None:
        """The stored venue with its open orders and at most `history` closed orders and trades (the newest), or None
        when this account never changed its venue (the initial balances hold). On PostgreSQL one statement: one
        snapshot, so a venue another process stores meanwhile is read all before or all after that write."""
        a = self.account_id
        conn = PaperVenue._meta.db
        if conn.capabilities.dialect == "postgres":
            return _parsed(await conn.execute_query_dict(_LOAD, [a, history]))
        row = await PaperVenue.get_or_none(account_id=a)
        if row is None:
            return None
        open_ = await PaperVenueOrder.filter(account_id=a, open=True).values_list("data", flat=True)
        closed = await (PaperVenueOrder.filter(account_id=a, open=False).order_by("-seq").limit(history)
                        .values_list("data", flat=True))
        trades = await (PaperVenueTrade.filter(account_id=a).order_by("-seq").limit(history)
                        .values_list("data", flat=True))
        orders = sorted((order_from_json(d) for d in (*open_, *closed)), key=lambda o: o.seq)
        return Stored(row.version, VenueState.from_json(row.state), orders, [trade_from_json(d) for d in trades[::-1]])

    async def since(self, seq: int, open_seqs: list[int], trades: int, history: int) -> Stored | None:
        """What a copy holding orders up to `seq` (`open_seqs` open among them) and `trades` trades lacks: the stored
        venue with its orders after `seq` and those of `open_seqs` (only open orders change), and its trades after
        `trades` (the newest `history` of them). On PostgreSQL one statement, as `load`."""
        a = self.account_id
        conn = PaperVenue._meta.db
        if conn.capabilities.dialect == "postgres":
            return _parsed(await conn.execute_query_dict(_SINCE, [a, history, seq, open_seqs, trades]))
        row = await PaperVenue.get_or_none(account_id=a)
        if row is None:
            return None
        orders = await (PaperVenueOrder.filter(Q(seq__gt=seq) | Q(seq__in=open_seqs), account_id=a).order_by("seq")
                        .values_list("data", flat=True))
        new = await (PaperVenueTrade.filter(account_id=a, seq__gt=trades).order_by("-seq").limit(history)
                     .values_list("data", flat=True))
        return Stored(row.version, VenueState.from_json(row.state), [order_from_json(d) for d in orders],
                      [trade_from_json(d) for d in new[::-1]])

    @staticmethod
    async def since_many(wants: dict[int, tuple[int, list[int], int, int]]) -> dict[int, Stored | None]:
        """`since` for many venues, `wants` being (seq, open_seqs, trades, history) by account: on PostgreSQL in one
        statement (one snapshot), elsewhere one venue at a time."""
        conn = PaperVenue._meta.db
        if conn.capabilities.dialect != "postgres":
            return {a: await PaperStore(a).since(seq, open_seqs, trades, history)
                    for a, (seq, open_seqs, trades, history) in wants.items()}
        accounts = list(wants)
        pairs = [(a, s) for a in accounts for s in wants[a][1]]
        rows = await conn.execute_query_dict(_SINCE_MANY, [
            accounts, [wants[a][0] for a in accounts], [wants[a][2] for a in accounts], [wants[a][3] for a in accounts],
            [a for a, _ in pairs], [s for _, s in pairs]])
        got = {r["a"]: _parsed([r]) for r in rows}
        return {a: got.get(a) for a in accounts}

    @staticmethod
    async def documents(known: dict[int, int]) -> dict[int, tuple[int, dict | None]]:
        """The stored venues' versions by account ((0, None): never stored), each with its document where the version
        is not the `known` one (a copy's): one read tells which copies are current without sending the documents of
        those that are, and lets a copy behind by a document change only take it (Persisted.recheck)."""
        return await _versions(PaperVenue._meta.db, known)

    @staticmethod
    async def lock_documents(conn: BaseDBAsyncClient, known: dict[int, int]) -> dict[int, tuple[int, dict | None]]:
        """`documents`, read in the caller's PostgreSQL transaction `conn` with the stored rows locked, in account
        order, until it ends: nobody else stores these venues meanwhile, so what the caller writes over the versions
        read is never refused (paper_batch.create_on_venues)."""
        return await _versions(conn, known, lock=True)

    async def order(self, seq: int | None = None, client_order_id: str | None = None) -> PaperOrder | None:
        """A stored order by its seq, else by its client id."""
        q = PaperVenueOrder.filter(account_id=self.account_id)
        q = q.filter(seq=seq) if seq is not None else q.filter(client_order_id=client_order_id).order_by("-seq")
        data = await q.first().values_list("data", flat=True)
        return None if data is None else order_from_json(data)

    async def has_client_id(self, client_order_id: str) -> bool:
        return await PaperVenueOrder.filter(account_id=self.account_id, client_order_id=client_order_id).exists()

    async def trades(self, symbol: str, after: int, limit: int | None) -> list[Trade]:
        """Stored trades of `symbol` with a seq above `after`, by seq; at most `limit` of them when it is given."""
        q = PaperVenueTrade.filter(account_id=self.account_id, symbol=symbol, seq__gt=after).order_by("seq")
        return [trade_from_json(d) for d in await (q.limit(limit) if limit else q).values_list("data", flat=True)]

    async def save(self, version: int, change: Change) -> int:
        """Writes `change` over the stored `version` atomically; returns the new version. StaleVenue when the
        stored version is not `version` (nothing is written then)."""
        a, state = self.account_id, change.venue
        async with in_transaction() as conn:
            if version == 0:
                try:
                    await PaperVenue.create(account_id=a, version=1, state=state, using_db=conn)
                except IntegrityError as e:  # another process stored it first
                    raise StaleVenue(f"paper account {a}: stored venue is no longer new") from e
            elif not await PaperVenue.filter(account_id=a, version=version).using_db(conn).update(
                    version=version + 1, state=state):
                raise StaleVenue(f"paper account {a}: stored venue is not version {version}")
            if change.new_orders:
                await PaperVenueOrder.bulk_create([_order_row(a, o) for o in change.new_orders], using_db=conn)
            for o in change.changed_orders:
                await PaperVenueOrder.filter(account_id=a, seq=o.seq).using_db(conn).update(
                    open=o.info.status == OrderStatus.OPEN, data=order_to_json(o))
            if change.new_trades:
                first = state["trades"] - len(change.new_trades) + 1
                await PaperVenueTrade.bulk_create(
                    [_trade_row(a, first + i, t) for i, t in enumerate(change.new_trades)], using_db=conn)
        return version + 1


async def save_documents(docs: list[tuple[int, int, dict]]) -> set[int]:
    """Venue documents written over their stored versions, for changes that touched no order or trade (a candle fed
    with nothing matched: the last price and the candle's time): `docs` are (account, stored version, document), all
    in one transaction; returns the accounts written (each now one version on). An account whose stored version is
    not the one given is left as it is (StaleVenue's case, for its caller to make again on the venue as stored)."""
    if not docs:
        return set()
    async with in_transaction() as conn:
        return await _documents(conn, docs)


async def save_changes(changes: list[tuple[int, int, Change]], conn: BaseDBAsyncClient | None = None) -> set[int]:
    """The changes of several venues stored over versions (>= 1) in one transaction: their documents as
    `save_documents` writes them, then the orders and trades of the venues written, new ones in one statement each.
    Returns the accounts written; one whose stored version is not the one given is left as it is, its rows too.
    In the caller's transaction `conn` when given, whose rows it locked already (`PaperStore.lock_documents`)."""
    if not changes:
        return set()
    if conn is not None:
        return await _changes(conn, changes, locked=True)
    async with in_transaction() as conn:
        return await _changes(conn, changes)


async def _changes(conn: BaseDBAsyncClient, changes: list[tuple[int, int, Change]], *, locked: bool = False,
                   ) -> set[int]:
    written = await _documents(conn, [(a, version, change.venue) for a, version, change in changes], locked)
    mine = [(a, change) for a, _, change in changes if a in written]
    new_orders = [_order_row(a, o) for a, change in mine for o in change.new_orders]
    if new_orders:
        await PaperVenueOrder.bulk_create(new_orders, using_db=conn)
    for a, change in mine:
        for o in change.changed_orders:
            await PaperVenueOrder.filter(account_id=a, seq=o.seq).using_db(conn).update(
                open=o.info.status == OrderStatus.OPEN, data=order_to_json(o))
    new_trades = [_trade_row(a, change.venue["trades"] - len(change.new_trades) + 1 + i, t)
                  for a, change in mine for i, t in enumerate(change.new_trades)]
    if new_trades:
        await PaperVenueTrade.bulk_create(new_trades, using_db=conn)
    return written


async def _documents(conn: BaseDBAsyncClient, docs: list[tuple[int, int, dict]], locked: bool = False) -> set[int]:
    """`docs` (account, stored version, document) written in the caller's transaction; the accounts written."""
    if conn.capabilities.dialect == "postgres":  # one statement for them all, the rows locked in account order first
        accounts = sorted({a for a, _, _ in docs})  # (two processes' batches never wait for each other in a circle)
        if not locked:
            await conn.execute_query('SELECT 1 FROM "paper_venues" WHERE "account_id" = ANY($1::int[]) '
                                     'ORDER BY "account_id" FOR UPDATE', [accounts])
        encode = PaperVenue._meta.fields_map["state"].to_db_value
        rows = await conn.execute_query_dict(
            'UPDATE "paper_venues" AS p SET "version" = p."version" + 1, "state" = d.state::jsonb '
            "FROM unnest($1::int[], $2::int[], $3::text[]) AS d(account_id, version, state) "
            'WHERE p."account_id" = d.account_id AND p."version" = d.version RETURNING p."account_id"',
            [[a for a, _, _ in docs], [v for _, v, _ in docs], [encode(doc, None) for _, _, doc in docs]])
        return {r["account_id"] for r in rows}
    written = set()
    for a, version, doc in docs:  # SQLite: one process, local writes
        if await PaperVenue.filter(account_id=a, version=version).using_db(conn).update(version=version + 1,
                                                                                       state=doc):
            written.add(a)
    return written


async def _versions(conn: BaseDBAsyncClient, known: dict[int, int], *, lock: bool = False,
                    ) -> dict[int, tuple[int, dict | None]]:
    accounts = list(known)
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict(
            'SELECT p."account_id" AS a, p."version" AS v, CASE WHEN p."version" <> k.v THEN p."state"::text END '
            'AS state FROM "paper_venues" p JOIN unnest($1::int[], $2::int[]) AS k(a, v) ON p."account_id" = k.a'
            + (' ORDER BY p."account_id" FOR UPDATE OF p' if lock else ""), [accounts, [known[a] for a in accounts]])
        stored = {r["a"]: (r["v"], None if r["state"] is None else json.loads(r["state"])) for r in rows}
    else:
        stored = {a: (v, None if v == known[a] else doc) for a, v, doc in
                  await PaperVenue.filter(account_id__in=accounts).using_db(conn).values_list("account_id", "version",
                                                                                           "state")}
    return {a: stored.get(a, (0, None)) for a in accounts}


# One statement each (one snapshot): the venue row with its orders and trades as JSON arrays, by seq.
_TRADES = """(SELECT coalesce(json_agg(t."data" ORDER BY t."seq"), '[]') FROM (SELECT "data", "seq" FROM "paper_trades"
    WHERE "account_id" = $1 {after} ORDER BY "seq" DESC LIMIT $2) t)::text AS trades"""
_LOAD = f"""SELECT v."version", v."state"::text AS state,
  (SELECT coalesce(json_agg(o."data" ORDER BY o."seq"), '[]') FROM (
    (SELECT "data", "seq" FROM "paper_orders" WHERE "account_id" = $1 AND "open")
    UNION ALL
    (SELECT "data", "seq" FROM "paper_orders" WHERE "account_id" = $1 AND NOT "open" ORDER BY "seq" DESC LIMIT $2)
  ) o)::text AS orders,
  {_TRADES.format(after="")}
FROM "paper_venues" v WHERE v."account_id" = $1"""
_SINCE = f"""SELECT v."version", v."state"::text AS state,
  (SELECT coalesce(json_agg(o."data" ORDER BY o."seq"), '[]') FROM "paper_orders" o
    WHERE o."account_id" = $1 AND (o."seq" > $3 OR o."seq" = ANY($4::int[])))::text AS orders,
  {_TRADES.format(after='AND "seq" > $5')}
FROM "paper_venues" v WHERE v."account_id" = $1"""

_SINCE_MANY = """SELECT k.a, v."version", v."state"::text AS state,
  (SELECT coalesce(json_agg(o."data" ORDER BY o."seq"), '[]') FROM "paper_orders" o
    WHERE o."account_id" = k.a AND (o."seq" > k.seq OR o."seq" IN (
      SELECT p.s FROM unnest($5::int[], $6::int[]) AS p(a, s) WHERE p.a = k.a)))::text AS orders,
  (SELECT coalesce(json_agg(t."data" ORDER BY t."seq"), '[]') FROM (SELECT "data", "seq" FROM "paper_trades"
    WHERE "account_id" = k.a AND "seq" > k.trades ORDER BY "seq" DESC LIMIT k.h) t)::text AS trades
FROM unnest($1::int[], $2::int[], $3::int[], $4::int[]) AS k(a, seq, trades, h)
JOIN "paper_venues" v ON v."account_id" = k.a"""


def _parsed(rows: list[dict]) -> Stored | None:
    if not rows:
        return None
    r = rows[0]
    return Stored(r["version"], VenueState.from_json(json.loads(r["state"])),
                  [order_from_json(d) for d in json.loads(r["orders"])],
                  [trade_from_json(d) for d in json.loads(r["trades"])])


def _trade_row(account_id: int, seq: int, t: Trade) -> PaperVenueTrade:
    return PaperVenueTrade(account_id=account_id, seq=seq, symbol=t.symbol, ts=t.ts, data=trade_to_json(t))


def _order_row(account_id: int, o: PaperOrder) -> PaperVenueOrder:
    return PaperVenueOrder(account_id=account_id, seq=o.seq, open=o.info.status == OrderStatus.OPEN,
                           client_order_id=o.info.client_order_id, data=order_to_json(o))
