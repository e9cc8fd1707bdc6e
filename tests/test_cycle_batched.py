"""A candle close where bots only record their decision writes them together: one statement per market, not one per
bot, with every bot's decision stored (for /why, and so a restart does not evaluate the close again)."""

from __future__ import annotations

import logging

import pytest

from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from tests.runtime_kit import HYPERRSI_SETTINGS, replay_engine

TF = 300_000  # the bots' 5m
QUIET = {**HYPERRSI_SETTINGS, "rsi_oversold": 1, "rsi_overbought": 99}  # never a signal: every close is quiet


def _bot_updates(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records
            if r.name == "tortoise.db_client" and r.getMessage().lstrip().upper().startswith('UPDATE "STRATEGY_BOTS"')]


async def _twelve_bots(engine, first_user: int, settings: dict) -> list[int]:
    """4 paper accounts with 3 running HYPERRSI bots each, all on BTC/USDT:USDT: the bots' ids."""
    bots = []
    for k in range(4):
        user = await User.create(telegram_id=first_user + k)
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                           is_paper=True, paper_balances={"USDT": "100000"})
        for _ in range(3):
            bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                           settings=settings, status=BotStatus.DRAFT)
            await engine.control.start_bot(user.id, bot.id)
            bots.append(bot.id)
    return bots


async def test_a_quiet_close_writes_the_decisions_of_a_market_in_one_statement(db, shared_data, caplog):
    engine, clock, start = await replay_engine(shared_data)
    bots = await _twelve_bots(engine, 7100, QUIET)  # 4 accounts x 3 bots: 4 (account, symbol) groups, one market
    close = start - start % TF + 2 * TF
    clock.set(close + 2_000)
    await engine.tick()  # the first close after the start: each bot's first decision
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        clock.set(close + TF + 2_000)
        await engine.tick()
    updates = _bot_updates(caplog.records)
    assert len(updates) == 1, updates  # the 12 decisions of the market in one statement
    states = dict(await StrategyBot.filter(id__in=bots).values_list("id", "state"))
    assert {s["candle"] for s in states.values()} == {close}  # every decision of that close (its open time) stored
    rings = await StrategyBot.filter(id__in=bots).values_list("decisions", flat=True)
    assert all(r[-1]["ts"] == close + TF for r in rings)
    for bot_id in bots:  # memory and the rows agree: nothing is written again at the next save
        assert engine.handles[bot_id].last_state == states[bot_id]
    await engine.shutdown()


async def test_a_market_job_reads_its_bots_once_it_holds_their_locks(db, shared_data):
    """A chat's change committed while a market job waits for the bot's lock is what the job evaluates (the job
    used to read its bots before taking the locks, and evaluated, and wrote back, the bot as it was)."""
    import asyncio

    from engine.jobs.worker import build_markets
    from tests.test_jobs_venues import BTC, _started

    start, acc = await _started(shared_data)
    markets = build_markets(replay_dir=shared_data)
    bot = await StrategyBot.get(account_id=acc.id)
    async with markets.locks.hold(acc.id, BTC):  # the chat's process pausing the bot holds its lock
        job = asyncio.create_task(markets.close("paper:swap", BTC, "5m", start))
        await asyncio.sleep(0.5)
        assert not job.done()
        await StrategyBot.filter(id=bot.id).update(status=BotStatus.PAUSED)
    assert (await job)["bots"] == 1
    row = await StrategyBot.get(id=bot.id)
    assert row.status == BotStatus.PAUSED
    assert row.decisions[-1]["rules"][0][0] == "paused", row.decisions[-1]


ENTER = {**HYPERRSI_SETTINGS, "rsi_oversold": 98, "rsi_overbought": 99, "entry_option": "rsi_only"}  # enter long


async def _entering(shared_data, caplog, first_user: int):
    """12 bots that enter on the first close, run with the database's statements logged: (engine, clock, bots, the
    close). The venues are stored by the candles fed first in that tick, then the close: every bot enters."""
    engine, clock, start = await replay_engine(shared_data)
    bots = await _twelve_bots(engine, first_user, ENTER)
    close = start - start % TF + 2 * TF
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        clock.set(close + 2_000)
        await engine.tick()
    return engine, clock, bots, close


def _statements(records: list[logging.LogRecord], start: str) -> list[str]:
    return [r.getMessage() for r in records
            if r.name == "tortoise.db_client" and r.getMessage().lstrip().upper().startswith(start)]


async def test_the_entries_of_a_market_on_one_close_are_written_and_sent_together(db, shared_data, caplog):
    """12 bots of one market entering on one close: their states committed in one transaction, their order rows
    inserted in one statement (each before its order is sent), sent, and their outcomes written in one statement;
    every bot then holds its position and its order's fill is booked once."""
    from db.enums import OrderStatus
    from db.models import Fill, Order, Position

    engine, clock, bots, close = await _entering(shared_data, caplog, 7200)
    inserts = _statements(caplog.records, 'INSERT INTO "ORDERS"')
    seqs = [m for m in _statements(caplog.records, "SELECT") if 'MAX("SEQ")' in m.upper()]
    assert len(inserts) == 1, inserts  # 12 entries, one statement (it was one per entry)
    assert len(seqs) == 1, seqs  # the bots' last order numbers read once (it was twice per entry)
    outcomes = _statements(caplog.records, 'UPDATE "ORDERS"')
    assert len(outcomes) == 1, outcomes  # what the venue answered, one statement (it was one per entry)
    rows = await Order.filter(bot_id__in=bots).values("bot_id", "seq", "client_order_id", "status", "role")
    assert sorted(r["bot_id"] for r in rows) == sorted(bots)  # one entry each
    assert len({r["client_order_id"] for r in rows}) == 12 and {r["seq"] for r in rows} == {1}
    assert all(r["status"] in (OrderStatus.OPEN, OrderStatus.CLOSED) and r["role"] == "entry" for r in rows), rows
    for bot_id in bots:
        h = engine.handles[bot_id]
        assert h.rt.pending_floor == 0 and h.strat.pending == "entry"
        assert h.last_state == (await StrategyBot.get(id=bot_id)).state  # committed before its order was sent
    clock.set(close + TF // 5 + 2_000)  # the next minutes: each market order fills and is booked
    await engine.feed_paper(clock.now_ms())
    await engine.supervise()
    assert await Fill.filter(order__bot_id__in=bots).count() == 12
    sizes = await Position.filter(bot_id__in=bots).values_list("size", flat=True)
    assert all(s > 0 for s in sizes), sizes
    await engine.shutdown()


async def test_a_bots_exits_after_its_entry_are_written_and_sent_together(db, shared_data, caplog):
    """After its entry fills, each bot places its stop-loss and take-profits: one bot's orders are written in one
    statement before any is sent and their outcomes in one (4 exits: 4 INSERTs, 4 MAX(seq) reads, 4 UPDATEs -> 1
    each), sent in order, each resting on the venue."""
    from db.enums import OrderStatus
    from db.models import Order

    engine, clock, start = await replay_engine(shared_data)
    bots = await _twelve_bots(engine, 7400, ENTER)
    close = start - start % TF + 2 * TF
    clock.set(close + 2_000)
    await engine.tick()  # the entries
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        clock.set(close + 60_000 + 2_000)
        await engine.tick()  # the entries' fills, then each bot's exits
    exits = await Order.filter(bot_id__in=bots, seq__gt=1).values("bot_id", "seq", "status", "role")
    per_bot = len(exits) // len(bots)
    assert per_bot >= 2 and len(exits) == per_bot * len(bots), exits
    assert all(r["status"] == OrderStatus.OPEN for r in exits), exits
    assert {(r["bot_id"], r["seq"]) for r in exits} == {(b, s) for b in bots for s in range(2, per_bot + 2)}
    inserts = _statements(caplog.records, 'INSERT INTO "ORDERS"')
    seqs = [m for m in _statements(caplog.records, "SELECT") if 'MAX("SEQ")' in m.upper()]
    outcomes = [m for m in _statements(caplog.records, 'UPDATE "ORDERS"') if "exchange_order_id" in m]
    assert (len(inserts), len(seqs), len(outcomes)) == (len(bots), len(bots), len(bots))  # one each per bot
    await engine.shutdown()


async def test_the_entries_of_a_market_write_each_venue_and_each_kind_of_row_once(db, shared_data, caplog):
    """12 bots on 4 paper accounts entering on one close: the venues take the 12 orders in one transaction (their
    documents in one statement on PostgreSQL, one per account on SQLite; their order rows in one), the bots' states
    and positions are written in one statement each, and no bot asks the database whether its order is still out
    (it was one venue transaction, one state, one position and one query per entry)."""
    from db.models import Order, PaperVenueOrder

    engine, _, bots, _ = await _entering(shared_data, caplog, 7600)
    first = next(m for m in _statements(caplog.records, "") if "MAX(" in m.upper())  # the close's orders from here
    sent = caplog.records[[r.getMessage() for r in caplog.records].index(first):]
    venues = [m for m in _statements(sent, 'UPDATE "PAPER_VENUES"') if "version" in m]
    venue_orders = _statements(sent, 'INSERT INTO "PAPER_ORDERS"')
    states = _statements(sent, 'UPDATE "STRATEGY_BOTS"')
    positions = _statements(sent, 'UPDATE "POSITIONS"')
    still_out = [m for m in _statements(sent, "SELECT") if '"orders"' in m and "LIMIT" in m.upper()
                 and '"role" IN' in m]
    assert len(venue_orders) == 1, venue_orders
    assert len(venues) == (1 if db.dialect == "postgres" else 4), venues
    assert len(states) == 1 and len(positions) == 1, (states, positions)
    assert still_out == [], still_out
    cids = await Order.filter(bot_id__in=bots).values_list("client_order_id", flat=True)
    assert len(cids) == 12 and await PaperVenueOrder.filter(client_order_id__in=cids).count() == 12
    for bot_id in bots:
        h = engine.handles[bot_id]
        assert h.strat.pending == "entry" and h.last_state == (await StrategyBot.get(id=bot_id)).state
    await engine.shutdown()


async def _entered_then_stopped(shared_data, first_user: int) -> tuple[list[int], int]:
    """12 bots that entered on the first close, their one process stopped (a worker's jobs go on): (bots, close)."""
    engine, clock, start = await replay_engine(shared_data)
    bots = await _twelve_bots(engine, first_user, ENTER)
    close = start - start % TF + 2 * TF
    clock.set(close + 2_000)
    await engine.tick()  # the entries
    await engine.shutdown()
    return bots, close


async def test_a_market_job_reads_the_open_orders_of_its_bots_once(db, shared_data, caplog):
    """A worker's market job attaches its bots afresh, so each is re-synced by the job's supervision: the open
    orders of the 12 bots are read in one query (it was one per bot, then one more for the PENDING ones), and the
    bots still rest their exits."""
    from db.enums import OrderStatus
    from db.models import Order
    from engine.jobs.worker import build_markets

    bots, close = await _entered_then_stopped(shared_data, 7700)
    markets = build_markets(replay_dir=shared_data)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        job = await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close)  # the entries fill, exits placed
    assert job["bots"] == 12
    per_bot = [m for m in _statements(caplog.records, "SELECT") if 'FROM "orders"' in m and '"bot_id"=' in m
               and '"status" IN' in m]
    assert per_bot == [], per_bot
    # one read of the bots' orders not final, the rows still PENDING (a killed job's) among them: not one more
    together = [m for m in _statements(caplog.records, "SELECT") if 'FROM "orders"' in m and '"bot_id" IN' in m
                and "MAX(" not in m.upper()]
    assert len(together) == 1, together
    exits = await Order.filter(bot_id__in=bots, seq__gt=1, status=OrderStatus.OPEN).count()
    assert exits >= 2 * len(bots), exits


async def test_a_market_job_adopts_the_orders_a_killed_job_sent_without_writing_their_outcome(db, shared_data):
    """A worker killed between its venue's write and the orders' outcome leaves rows PENDING for orders the venue
    holds: the market's next job looks them up by client id (under the market's locks nothing else sends them), so
    their keys do not wait for the periodic reconciliation (seen: a stop-loss left unreplaced, then hit)."""
    from db.enums import OrderStatus
    from db.models import Order
    from engine.jobs.worker import build_markets

    bots, close = await _entered_then_stopped(shared_data, 7800)
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close)  # fills, then exits resting
    orphans = await Order.filter(bot_id__in=bots, seq__gt=1, status=OrderStatus.OPEN).limit(3)
    assert orphans
    await Order.filter(id__in=[o.id for o in orphans]).update(status=OrderStatus.PENDING, exchange_order_id=None)
    await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close + TF)
    after = await Order.filter(id__in=[o.id for o in orphans]).values_list("status", "exchange_order_id")
    assert OrderStatus.PENDING not in [status for status, _ in after], after  # adopted, or closed by its fill
    assert all(eid for status, eid in after if status == OrderStatus.OPEN), after



async def test_a_market_job_sends_again_the_orders_a_killed_job_wrote_but_never_stored_on_its_paper_venue(
        db, shared_data, monkeypatch):
    """A worker killed after writing its orders' rows and before its paper venue stored them leaves rows PENDING
    that the venue does not hold. The venue is the truth and refuses a client id it holds, so the market's next job
    (under the market's locks) sends them again under their client ids: before, they waited for a grace measured
    from their wall-clock creation against the job's clock, never ending in a replayed market, and a worker killed
    there left a GRID's counter order unsent for good (tests/test_jobs_workers.py, seen once in a full run)."""
    import asyncio

    from db.enums import OrderStatus
    from db.models import Order
    from engine.exchange import paper_batch
    from engine.jobs.worker import build_markets

    bots, close = await _entered_then_stopped(shared_data, 7850)
    markets = build_markets(replay_dir=shared_data)

    async def killed(changes, conn=None):
        raise asyncio.CancelledError  # as the process dying half-way: nothing of the batch stored

    monkeypatch.setattr(paper_batch, "save_changes", killed)
    with pytest.raises(asyncio.CancelledError):
        await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close)  # the entries fill; the exits' rows written
    monkeypatch.undo()
    left = await Order.filter(bot_id__in=bots, seq__gt=1, status=OrderStatus.PENDING).values_list(
        "id", "client_order_id")
    assert left
    await build_markets(replay_dir=shared_data).close("paper:swap", "BTC/USDT:USDT", "5m", close + TF)
    after = dict(await Order.filter(id__in=[i for i, _ in left]).values_list("client_order_id", "status"))
    assert OrderStatus.PENDING not in after.values(), after  # sent: resting, or closed by a fill since
    cids = await Order.filter(bot_id__in=bots).values_list("client_order_id", flat=True)
    assert len(cids) == len(set(cids))
    exits = await Order.filter(bot_id__in=bots, seq__gt=1, status=OrderStatus.OPEN).count()
    assert exits >= 2 * len(bots), exits  # each bot rests its exits once: no second set placed beside them

def _bot_reads(records: list[logging.LogRecord]) -> list[str]:
    """The SELECTs of whole strategy_bots rows (their state among the columns)."""
    return [m for m in _statements(records, "SELECT") if 'FROM "strategy_bots"' in m and '"state"' in m]


async def test_a_workers_next_job_on_a_market_reads_its_bots_once_and_keeps_the_unchanged_ones(
        db, shared_data, caplog, monkeypatch):
    """A worker's second job on a market: the bots' rows read once (under the locks; the keys to lock before them
    without the rows), and a bot that nothing changed since this worker's last job on it is not made again (its
    handle kept: making 10,000 of them was a third of a worker's quiet cycle)."""
    import engine.runtime.registry as registry_module
    from engine.jobs.worker import build_markets

    bots, close = await _entered_then_stopped(shared_data, 7900)
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close)  # fills in, exits placed: every bot written
    made = []
    real = registry_module.make_handle

    async def counted(row, *args, **kwargs):
        made.append(row.id)
        return await real(row, *args, **kwargs)

    monkeypatch.setattr(registry_module, "make_handle", counted)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        job = await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close + TF)
    assert job["bots"] == 12
    assert len(_bot_reads(caplog.records)) == 1, _bot_reads(caplog.records)
    assert made == [], made
    states = dict(await StrategyBot.filter(id__in=bots).values_list("id", "state"))
    assert {s["candle"] for s in states.values()} == {close + TF}  # every bot evaluated that close


async def test_a_workers_kept_bot_changed_elsewhere_is_taken_as_stored(db, shared_data):
    """Between two jobs of one worker on a market, another process changes a bot (paused from the chat) and books a
    fill of another (its position row): the next job holds the first as paused and the second's books as stored,
    not as the worker kept them, and evaluates both."""
    from decimal import Decimal

    from db.models import Position
    from engine.jobs.worker import build_markets
    from engine.runtime.bots import book_of

    bots, close = await _entered_then_stopped(shared_data, 8000)
    markets = build_markets(replay_dir=shared_data)
    await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close)
    paused, booked = bots[0], bots[1]
    await StrategyBot.filter(id=paused).update(status=BotStatus.PAUSED)
    before = await Position.get(bot_id=booked)
    await Position.filter(bot_id=booked).update(realized_pnl=before.realized_pnl + Decimal("7"))
    await markets.close("paper:swap", "BTC/USDT:USDT", "5m", close + TF)
    assert markets.kept(paused).status == BotStatus.PAUSED
    stored = await Position.get(bot_id=booked)  # a take-profit of it fills in that job, adding to the 7
    assert stored.realized_pnl > before.realized_pnl + Decimal("7")  # a kept book would have written over the 7
    assert markets.kept(booked).book == book_of(stored)
    states = dict(await StrategyBot.filter(id__in=[paused, booked]).values_list("id", "state"))
    assert {s["candle"] for s in states.values()} == {close + TF}
    await StrategyBot.filter(id=paused).update(status=BotStatus.STOPPED)  # stopped: its market may see no job again
    await markets.reconcile(close + 2 * TF)
    assert markets.kept(paused) is None and markets.kept(booked) is not None


async def test_a_workers_kept_bot_that_another_worker_ran_since_takes_the_stored_state_without_being_made_again(
        db, shared_data, monkeypatch):
    """Worker A runs a market's close, worker B the next (fills booked, every state written), then A the one after:
    A's kept handles take what B stored (the bots' state and books, as attaching them afresh would) instead of being
    made again, as about half of the bots of every close on two workers were."""
    from db.models import Position
    from engine.jobs.worker import build_markets
    from engine.runtime import registry as registry_module
    from engine.runtime.bots import book_of
    from engine.runtime.state import RuntimeState

    bots, close = await _entered_then_stopped(shared_data, 8100)
    a, b = build_markets(replay_dir=shared_data), build_markets(replay_dir=shared_data)
    await a.close("paper:swap", "BTC/USDT:USDT", "5m", close)  # the entries fill, exits placed
    kept = {bot_id: (a.kept(bot_id).state_json(), a.kept(bot_id).book) for bot_id in bots}
    a.kept(bots[0]).life.refused[("take_profit", 1)] = (3, 10**15, 0)  # A's memory of refusals, which B's job outdates
    await b.close("paper:swap", "BTC/USDT:USDT", "5m", close + TF)
    rows = {r.id: r for r in await StrategyBot.filter(id__in=bots)}
    books = {p.bot_id: book_of(p) for p in await Position.filter(bot_id__in=bots)}
    # B's job moved every bot's books and strategy state away from what A keeps
    assert all(books[i] != kept[i][1] and rows[i].state["strategy"] != kept[i][0]["strategy"] for i in bots)
    made, taken = [], {}
    real_make, real_adopt = registry_module.make_handle, registry_module.Registry.adopt

    async def counted(row, *args, **kwargs):
        made.append(row.id)
        return await real_make(row, *args, **kwargs)

    async def adopt(self, h):  # what each handle holds as the job takes it up, before it runs
        taken[h.id] = (h.state_json(), h.book, h.last_state)
        await real_adopt(self, h)

    monkeypatch.setattr(registry_module, "make_handle", counted)
    monkeypatch.setattr(registry_module.Registry, "adopt", adopt)
    assert (await a.close("paper:swap", "BTC/USDT:USDT", "5m", close + 2 * TF))["bots"] == 12
    assert made == [], made
    assert sorted(taken) == sorted(bots)
    assert a.kept(bots[0]).life.refused == {}  # as a handle made afresh
    for bot_id, (state, book, last) in taken.items():
        stored = rows[bot_id].state
        assert state == {**RuntimeState.from_json(stored).to_json(), "strategy": stored["strategy"]} == last
        assert book == books[bot_id]
    states = dict(await StrategyBot.filter(id__in=bots).values_list("id", "state"))
    assert {s["candle"] for s in states.values()} == {close + 2 * TF}
