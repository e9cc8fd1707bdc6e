"""A market job's reads of its bots (engine/jobs/market_reads.py): the same bots, settings, states and books as the
ORM's models, in fewer statements on PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from tortoise import Tortoise

from db.enums import BotKind, BotStatus, MarketType, PositionSide
from db.models import ExchangeAccount, PaperVenue, Position, StrategyBot, User
from engine.jobs.market_reads import _ACTIVE, _KEYS, _ROWS, market_keys, market_rows
from engine.jobs.worker import build_markets
from engine.runtime.bots import book_of
from tests.runtime_kit import HYPERRSI_SETTINGS
from tests.test_jobs_venues import BTC, STEP, _started


async def _bot(user, acc, symbol: str, tf: str | None, status=BotStatus.RUNNING, state=None) -> StrategyBot:
    settings = {**HYPERRSI_SETTINGS, "timeframe": tf} if tf else {k: v for k, v in HYPERRSI_SETTINGS.items()
                                                                  if k != "timeframe"}
    return await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol=symbol, settings=settings,
                                    status=status, state=state)


async def test_a_market_is_read_as_the_models_hold_it(db):
    user = await User.create(telegram_id=11)
    venues = [("paper", MarketType.SWAP), ("paper", MarketType.SWAP), ("paper", MarketType.SPOT),
              ("binance", MarketType.SWAP)]
    accs = [await ExchangeAccount.create(user=user, exchange=ex, market_type=mt, label=str(i), is_paper=True)
            for i, (ex, mt) in enumerate(venues)]
    state = {"rt": {"pending_floor": 3}, "strategy": {"entries": ["1.5", "2"], "stage": 1}}
    on_market = [await _bot(user, accs[0], BTC, "5m", state=state), await _bot(user, accs[1], BTC, "5m",
                                                                             status=BotStatus.STOPPING),
                 await _bot(user, accs[1], BTC, "5m", status=BotStatus.PAUSED)]
    await Position.create(bot=on_market[0], symbol=BTC, side=PositionSide.SHORT, size=Decimal("0.012"),
                          average_entry=Decimal("61234.5"), realized_pnl=Decimal("-3.25"), fees=Decimal("0.4"))
    await Position.create(bot=on_market[1], symbol=BTC)  # the third has no Position row yet
    await _bot(user, accs[0], BTC, "15m")  # another timeframe
    await _bot(user, accs[0], BTC, None)  # settings without a timeframe: the model's default, 15m
    await _bot(user, accs[0], BTC, "5m", status=BotStatus.STOPPED)
    await _bot(user, accs[2], BTC, "5m")  # another market type
    await _bot(user, accs[3], BTC, "5m")  # another exchange
    await _bot(user, accs[0], "ETH/USDT:USDT", "5m")

    assert await market_keys("paper:swap", BTC, "5m") == {(accs[0].id, BTC), (accs[1].id, BTC)}
    assert await market_keys("paper:swap", BTC, "15m") == {(accs[0].id, BTC)}
    rows = await market_rows("paper:swap", BTC, "5m")
    assert [r.id for r in rows] == [b.id for b in on_market]
    for row in rows:
        model = await StrategyBot.get(id=row.id)
        assert (row.user_id, row.account_id, row.kind, row.symbol, row.status, row.settings, row.state) == (
            model.user_id, model.account_id, model.kind, model.symbol, model.status, model.settings, model.state)
        position = await Position.get_or_none(bot_id=row.id)
        assert (row.position is None) == (position is None)
        if position is not None:
            assert (row.position.id, book_of(row.position)) == (position.id, book_of(position))
    assert book_of(rows[0].position).position == Decimal("-0.012")
    assert len(await market_rows("paper:swap", BTC, "15m")) == 2


async def test_a_market_job_reads_its_bots_and_their_positions_in_one_statement_after_their_keys(
        db, shared_data, monkeypatch):
    start, _ = await _started(shared_data)
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", BTC, "5m", start)
    conn = Tortoise.get_connection(db.dialect)
    reads: list[str] = []
    for name in ("execute_query", "execute_query_dict"):
        run = getattr(conn, name)

        async def spied(sql, values=None, _run=run):
            if '"strategy_bots"' in sql or '"positions"' in sql:
                reads.append(sql)
            return await _run(sql, values)

        monkeypatch.setattr(conn, name, spied)
    assert (await markets.close("paper:swap", BTC, "5m", start + STEP))["bots"] == 1
    # the keys before the locks, then the bots with their positions under them (SQLite: the ORM's two reads, and
    # the /why rings the decisions' write appends to, which PostgreSQL appends in the UPDATE)
    assert len(reads) == (2 if db.dialect == "postgres" else 4), reads


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_kept_market_learns_its_paper_venues_versions_with_its_bots(db, shared_data, monkeypatch):
    """On PostgreSQL a job reads the stored versions of its kept paper venues with its bots, not in a statement of
    their own (one round trip fewer a job); a venue another process stored since is still read and taken."""
    start, acc = await _started(shared_data)
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", BTC, "5m", start)  # this worker now keeps the account's venue
    conn = Tortoise.get_connection("postgres")
    versions: list[str] = []
    run = conn.execute_query_dict

    async def spied(sql, values=None):
        if 'FROM "paper_venues" p JOIN unnest' in sql:  # PaperStore.documents
            versions.append(sql)
        return await run(sql, values)

    monkeypatch.setattr(conn, "execute_query_dict", spied)
    assert (await markets.close("paper:swap", BTC, "5m", start + STEP))["bots"] == 1
    assert versions == []
    stored = await PaperVenue.get(account_id=acc.id)  # another process stores the venue
    await PaperVenue.filter(id=stored.id).update(version=stored.version + 1)
    assert (await markets.close("paper:swap", BTC, "5m", start + 2 * STEP))["bots"] == 1
    assert len(versions) == 1  # read again, and taken: the copy is at the stored version or after it
    assert markets.exchanges[acc.id].paper_venue._version >= stored.version + 1


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_market_read_looks_up_only_its_own_bots_accounts_and_positions(db):
    """A job's reads cost what its market holds, not what the service holds: its bots found by their symbol and their
    accounts, positions and paper venues by key, where the planner chose to scan every position and account (2 ms a
    job at 10,000 bots, growing with the service) because 50 look-ups cost about what a scan of a small table does."""
    await User.bulk_create([User(telegram_id=20_000 + a) for a in range(1000)], batch_size=1000)
    users = await User.filter(telegram_id__gte=20_000).order_by("id").values_list("id", flat=True)
    await ExchangeAccount.bulk_create([ExchangeAccount(user_id=u, exchange="paper", market_type=MarketType.SWAP,
                                                       label="paper", is_paper=True) for u in users], batch_size=1000)
    accounts = await ExchangeAccount.all().order_by("id").values_list("id", "user_id")
    await StrategyBot.bulk_create([StrategyBot(user_id=u, account_id=a, kind=BotKind.HYPERRSI,
                                               symbol=f"S{(n + k) % 200}/USDT:USDT", settings=HYPERRSI_SETTINGS,
                                               status=BotStatus.RUNNING)
                                   for n, (a, u) in enumerate(accounts) for k in range(10)], batch_size=5000)
    bots = await StrategyBot.all().values_list("id", "symbol")
    await Position.bulk_create([Position(bot_id=b, symbol=s) for b, s in bots], batch_size=5000)
    await PaperVenue.bulk_create([PaperVenue(account_id=a, version=1, state={}) for a, _ in accounts],
                                 batch_size=1000)
    conn = Tortoise.get_connection("postgres")
    await conn.execute_script("ANALYZE")
    for sql in (_KEYS, _ROWS):
        plan = await conn.execute_query_dict(f"EXPLAIN (FORMAT JSON) {sql}", ["S7/USDT:USDT", _ACTIVE, "paper", "swap"])
        scans = _scans(json.loads(plan[0]["QUERY PLAN"])[0]["Plan"])
        assert not {t for kind, t in scans if kind == "Seq Scan"}, scans
    assert len(await market_rows("paper:swap", "S7/USDT:USDT", HYPERRSI_SETTINGS["timeframe"])) == 50


def _scans(node: dict) -> list[tuple[str, str]]:
    """(node type, table) of every scan in a JSON plan."""
    own = [(node["Node Type"], node["Relation Name"])] if "Relation Name" in node else []
    return own + [s for child in node.get("Plans", []) for s in _scans(child)]
