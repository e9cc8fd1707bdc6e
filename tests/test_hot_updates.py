"""PostgreSQL: the rows every candle close rewrites (each running bot's state and /why ring, each paper account's
venue) are written in place on their page (a heap-only update), not as a new row elsewhere with a new entry in each
of the table's indexes: their tables leave room on each page for the next version (fillfactor). A bot's ring (2.6 kB
when full) is compressed in its row, and every close takes it apart and compresses it again: with lz4, which does
both several times faster than PostgreSQL's default pglz (a quarter less of the server's CPU a close,
bench/README.md)."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, PaperVenue, StrategyBot, User
from db.ring_updates import write_states
from engine.runtime.state import DECISIONS
from tests.runtime_kit import HYPERRSI_SETTINGS

RING = [{"ts": k, "close": 61234.5 + k, "sig": {"rsi": 48.1234567, "rsi_prev": 47.7654321, "trend": 0},
         "rules": [["no_signal", {"mode": "threshold", "direction": "both", "oversold": 30.0, "overbought": 70.0}]],
         "orders": []} for k in range(DECISIONS - 1)]
STATE = {"cursor": 1234, "candle": 1, "started_ms": 1690000000000,
         "strategy": {"side": "flat", "size": 0, "stop": None, "pending": None, "atr": 123.456}}


async def _hot(table: str) -> tuple[int, int]:
    """(rows updated, of them in place) by this connection, counted since its statistics were last reported (read
    twice in one transaction: nothing is reported in between)."""
    conn = StrategyBot._meta.db
    rows = await conn.execute_query_dict(
        f"SELECT pg_stat_get_xact_tuples_updated('{table}'::regclass) AS n, "
        f"pg_stat_get_xact_tuples_hot_updated('{table}'::regclass) AS hot")
    return rows[0]["n"], rows[0]["hot"]


async def _alone() -> None:
    """No autovacuum on the tables these tests write: an ANALYZE it starts on one of them holds a snapshot in the
    database meanwhile, and no update can prune the versions that snapshot may see, so it would find no room on the
    page (a 2-core CI machine, 28 of 100 venue updates in place once). The test database is this test's own."""
    for table in ("users", "exchange_accounts", "strategy_bots", "paper_venues"):
        await StrategyBot._meta.db.execute_script(f'ALTER TABLE "{table}" SET (autovacuum_enabled = off)')


async def _running_bots(n: int) -> list[int]:
    """`n` running bots of one paper account, each with a state and a ring one short of full (hours of closes)."""
    await _alone()
    user = await User.create(telegram_id=7400)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True)
    await StrategyBot.bulk_create([StrategyBot(user=user, account=acc, kind=BotKind.HYPERRSI, symbol=f"S{i}/USDT",
                                               settings=HYPERRSI_SETTINGS, status=BotStatus.RUNNING, state=STATE,
                                               decisions=RING) for i in range(n)])
    return await StrategyBot.all().values_list("id", flat=True)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_close_rewrites_every_bot_row_in_place(db):
    ids = await _running_bots(200)
    for close in (2, 3, 4):  # each close its own transaction, the next finding the last one's old versions
        async with in_transaction() as tx:
            before = await _hot("strategy_bots")
            await write_states([(i, {**STATE, "candle": close}, [{**RING[0], "ts": close}], None) for i in ids],
                               DECISIONS, tx)
            after = await _hot("strategy_bots")
        n, hot = after[0] - before[0], after[1] - before[1]
        assert n == 200 and hot == n, (close, n, hot)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_feed_rewrites_every_paper_venue_in_place(db):
    from engine.exchange.paper_store import _documents

    await _alone()
    venues = []
    for k in range(100):
        user = await User.create(telegram_id=7500 + k)
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                           is_paper=True)
        venues.append(acc.id)
    doc = {"balances": {"USDT": "100000"}, "orders": [], "trades": [], "fed": {"BTC/USDT:USDT": 1}}
    await PaperVenue.bulk_create([PaperVenue(account_id=a, version=1, state=doc) for a in venues])
    for version in (1, 2, 3):  # the store's own write (one statement for the batch), once a feed
        async with in_transaction() as tx:
            before = await _hot("paper_venues")
            assert await _documents(tx, [(a, version, {**doc, "fed": version}) for a in venues]) == set(venues)
            after = await _hot("paper_venues")
        n, hot = after[0] - before[0], after[1] - before[1]
        assert n == 100 and hot == n, (version, n, hot)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_close_compresses_the_rings_it_rewrites_with_lz4(db):
    ids = await _running_bots(20)
    await write_states([(i, {**STATE, "candle": 2}, [{**RING[0], "ts": 2}], None) for i in ids], DECISIONS)
    rows = await StrategyBot._meta.db.execute_query_dict(
        'SELECT pg_column_compression("decisions") AS c, count(*) AS n FROM "strategy_bots" GROUP BY 1')
    assert rows == [{"c": "lz4", "n": 20}], rows
