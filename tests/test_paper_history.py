"""A long-lived paper account keeps only its open orders and recent history in memory; older orders and trades are read
from the store exactly as memory would have answered, and migration 4 gives rows stored before it their lookup columns."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest
from aerich import Command
from tortoise import Tortoise
from tortoise.context import TortoiseContext

from db.database import MIGRATIONS, connect, migrate, tortoise_config
from db.models import ExchangeAccount, PaperVenueOrder, PaperVenueTrade, User
from engine.candles import load_csv
from engine.exchange.paper import PaperExchange
from engine.exchange.paper_persist import HISTORY
from engine.exchange.paper_state import order_to_json, trade_to_json
from engine.exchange.paper_store import PaperStore
from engine.exchange.protocol import (
    InvalidOrder,
    MarketType,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from tests.conftest import empty_database

SYMS = ("BTC/USDT", "ETH/USDT")
BALANCES = {"USDT": "100000", "BTC": "1", "ETH": "10"}


@pytest.fixture(scope="module")
def candles(shared_data):
    return {s: load_csv(shared_data / f"{s.split('/')[0]}_USDT-1m.csv")[:200].rows() for s in SYMS}


async def _account(telegram_id: int) -> ExchangeAccount:
    user = await User.create(telegram_id=telegram_id)
    return await ExchangeAccount.create(user=user, exchange="paper", market_type="spot", label="paper",
                                        is_paper=True, paper_balances=BALANCES)


def _venue(account_id: int | None = None, history: int = HISTORY) -> PaperExchange:
    """The account's venue as a new process makes it (stored), or with no account one that lives in memory only."""
    store = PaperStore(account_id) if account_id is not None else None
    return PaperExchange(MarketType.SPOT, {k: D(v) for k, v in BALANCES.items()}, store=store, history=history)


async def _trade(ex: PaperExchange, candles, start: int, n: int, tag: str = "a") -> None:
    """Two market orders a candle, a limit order every 5th and a cancel every 9th, on both symbols; before the first
    candle, 3 resting orders the prices never reach (old orders that must stay in memory while open)."""
    if start == 0:
        for s in SYMS:
            await ex.feed(s, candles[s][0])
            for i in range(3):
                await ex.create_order(OrderRequest(s, Side.BUY, OrderType.LIMIT, D("0.01"), f"rest{s[0]}{i}",
                                                   price=(D(str(candles[s][0][4])) / 2 + i).quantize(D("0.01"))))
        start, n = 1, n - 1
    for k in range(start, start + n):
        for i, s in enumerate(SYMS):
            amount, px = (D("0.001") if s.startswith("BTC") else D("0.01")), D(str(candles[s][k - 1][4]))
            await ex.create_order(OrderRequest(s, Side.BUY if (k + i) % 2 else Side.SELL, OrderType.MARKET, amount,
                                               f"{tag}{s[0]}m{k}"))
            if k % 5 == 0:
                await ex.create_order(OrderRequest(s, Side.BUY, OrderType.LIMIT, amount, f"{tag}{s[0]}l{k}",
                                                   price=(px * D("0.9995")).quantize(D("0.01"))))
            if k % 9 == 0:
                newest = max((o for o in await ex.fetch_open_orders(s)), key=lambda o: int(o.id[1:]))
                await ex.cancel_order(s, order_id=newest.id)
            await ex.feed(s, candles[s][k])


async def _seen(ex: PaperExchange) -> dict:
    """What a user or a bot sees of the account."""
    return {"balance": await ex.fetch_balance(), "open": await ex.fetch_open_orders(),
            "trades": [await ex.fetch_my_trades(s) for s in SYMS], "tickers": [await ex.fetch_ticker(s) for s in SYMS]}


def _memory(ex: PaperExchange) -> tuple:
    return {i: (o.info, o.reserved) for i, o in ex._orders.items()}, dict(ex._by_client), list(ex._trades)


async def test_memory_holds_the_open_orders_and_a_window_of_history(db, candles):
    acc = await _account(8880001)
    ex, ref = _venue(acc.id), _venue()
    for x in (ex, ref):
        await _trade(x, candles, 0, 120)
    opened = [o for o in ref._orders.values() if o.info.status == OrderStatus.OPEN]
    assert ref._seq > 2 * HISTORY and len(ref._trades) > 2 * HISTORY, "too little happened"
    assert sum(o.info.client_order_id.startswith("rest") for o in opened) == 6
    closed = [o for o in ex._orders.values() if o.info.status != OrderStatus.OPEN]
    assert len(closed) == HISTORY and len(ex._trades) == HISTORY  # the window, not the history
    assert len(ex._orders) == HISTORY + len(opened) and len(ex._by_client) == len(ex._orders)
    assert [o.seq for o in closed] == [o.seq for o in ref._orders.values() if o.info.status != OrderStatus.OPEN][
        -HISTORY:]  # the newest closed ones
    assert ex._trades == ref._trades[-HISTORY:]
    assert await _seen(ex) == await _seen(ref)

    again = _venue(acc.id)  # a restart loads the same window
    assert await _seen(again) == await _seen(ref)
    assert _memory(again) == _memory(ex)
    await _trade(again, candles, 120, 30)  # and it stays bounded while running on
    await _trade(ref, candles, 120, 30)
    assert len(again._trades) == HISTORY and len(again._orders) == HISTORY + len(await ref.fetch_open_orders())
    assert await _seen(again) == await _seen(ref)


async def test_an_old_order_is_found_by_id_and_client_id_after_it_left_memory(db, candles):
    acc = await _account(8880002)
    ex, ref = _venue(acc.id, history=10), _venue()
    for x in (ex, ref):
        await _trade(x, candles, 0, 60)
    filled = next(o.info for o in ref._orders.values() if o.info.status == OrderStatus.CLOSED)
    canceled = next(o.info for o in ref._orders.values() if o.info.status == OrderStatus.CANCELED)
    assert filled.id not in ex._orders and canceled.id not in ex._orders and filled.client_order_id not in ex._by_client

    async def outcome(venue: PaperExchange, name: str, *args, **kw):
        try:
            return await getattr(venue, name)(*args, **kw)
        except (OrderNotFound, InvalidOrder) as e:
            return type(e), str(e)

    for x in (ex, _venue(acc.id, history=10)):  # running, and after a restart
        for old in (filled, canceled):
            s, cid = old.symbol, old.client_order_id
            assert await x.fetch_order(s, client_order_id=cid) == old
            assert await x.fetch_order(s, order_id=old.id) == old
            for call in (("cancel_order", s, None, cid), ("cancel_order", s, old.id),  # no longer open
                         ("create_order", OrderRequest(s, Side.BUY, OrderType.MARKET, D("0.01"), cid)),  # taken
                         ("fetch_order", s, "O99999"), ("fetch_order", s, "oops"), ("fetch_order", s, None, "never")):
                assert await outcome(x, *call) == await outcome(ref, *call)
                assert isinstance(await outcome(x, *call), tuple)
    assert await _seen(ex) == await _seen(ref)  # the refusals changed nothing


async def _pages(ex: PaperExchange, symbol: str, limit: int, since: int | None = None) -> list:
    """Every page from `since`, continued from the last trade's id (the venue's cursor is its trade count)."""
    out = []
    while (page := await ex.fetch_my_trades(symbol, since=since, limit=limit)).trades:
        out.append(page)
        since = int(page.trades[-1].id[1:])
    return out


async def test_old_cursors_page_through_stored_trades_as_memory_does(db, candles):
    acc = await _account(8880003)
    ex, ref = _venue(acc.id, history=7), _venue()
    for x in (ex, ref):
        await _trade(x, candles, 0, 50)
    total = (await ref.fetch_my_trades(SYMS[0])).cursor
    assert total == len(ref._trades) > 100 and ex._trade_base == total - 7  # all but 7 are in the store only
    for x in (ex, _venue(acc.id, history=7)):
        for s in SYMS:
            for since in (None, 0, 1, 2, 37, total - 8, total - 7, total - 6, total - 1, total, total + 5):
                for limit in (None, 1, 4, 1000):
                    assert await x.fetch_my_trades(s, since, limit) == await ref.fetch_my_trades(s, since, limit)
            for limit, since in ((5, None), (1, 30), (9, total - 20)):
                assert await _pages(x, s, limit, since) == await _pages(ref, s, limit, since)
    cursor = 3  # a poller far behind catches up as it would have on the in-memory venue, then follows it
    for k in range(50, 55):
        page = await ex.fetch_my_trades(SYMS[1], since=cursor)
        assert page == await ref.fetch_my_trades(SYMS[1], since=cursor) and page.trades
        cursor = page.cursor
        for x in (ex, ref):
            await _trade(x, candles, k, 1, "c")


def _sql(value) -> str:
    return "'" + json.dumps(value).replace("'", "''") + "'"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_migration_4_gives_stored_rows_their_lookup_columns(dialect, tmp_path, candles):
    """Rows as the venue stored them before migration 4 (data JSON only) get their client id and time columns, and
    the account loads from them with its old orders and trades found through those columns."""
    ref = _venue()
    await _trade(ref, candles, 0, 30)
    old = tmp_path / "at_3"
    shutil.copytree(MIGRATIONS, old)
    for later in (old / "models").glob("*_*.py"):
        if int(later.name.split("_")[0]) >= 4:
            later.unlink()
    (tmp_path / "paper4").mkdir()  # aerich's Command, unlike our connect(), makes no folder
    async with empty_database(dialect, tmp_path, "paper4") as url:
        async with TortoiseContext(), Command(tortoise_config(url), app="models", location=str(old)) as command:
            await command.init()
            assert (await command.upgrade(run_in_transaction=True))[-1].startswith("3_")
            orders = ", ".join(f"({o.seq}, {'true' if o.info.status == OrderStatus.OPEN else 'false'}, "
                               f"{_sql(order_to_json(o))}, 1)" for o in ref._orders.values())
            trades = ", ".join(f"({i}, '{t.symbol}', {_sql(trade_to_json(t))}, 1)"
                               for i, t in enumerate(ref._trades, 1))
            await Tortoise.get_connection(dialect).execute_script(
                "INSERT INTO users (id, telegram_id, language, role, active, blocked, created_at, updated_at) "
                "VALUES (1, 5, 'en', 'user', true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);"
                "INSERT INTO exchange_accounts (id, user_id, exchange, market_type, label, key_hint, is_paper, "
                f"paper_balances, created_at) VALUES (1, 1, 'paper', 'spot', 'p', '', true, {_sql(BALANCES)}, "
                "CURRENT_TIMESTAMP);"
                "INSERT INTO paper_venues (id, account_id, version, state, updated_at) VALUES "
                f"(1, 1, 7, {_sql(ref.venue_state().to_json())}, CURRENT_TIMESTAMP);"
                f"INSERT INTO paper_orders (seq, open, data, account_id) VALUES {orders};"
                f"INSERT INTO paper_trades (seq, symbol, data, account_id) VALUES {trades};")
        assert (await migrate(url))[0].startswith("4_")
        await connect(url, apply_migrations=False)
        rows = await PaperVenueOrder.filter(account_id=1).order_by("seq").values_list("client_order_id", "data")
        assert [c for c, _ in rows] == [o.info.client_order_id for o in ref._orders.values()]
        assert all(c == d["info"]["client_order_id"] for c, d in rows)
        ts = await PaperVenueTrade.filter(account_id=1).order_by("seq").values_list("ts", flat=True)
        assert ts == [t.ts for t in ref._trades] and min(ts) > 1_000_000_000_000

        ex = _venue(1, history=3)
        assert await _seen(ex) == await _seen(ref) and len(ex._trades) == 3
        first = ref._orders["O7"].info  # the first market order, long closed
        assert first.status == OrderStatus.CLOSED and "O7" not in ex._orders
        assert await ex.fetch_order(first.symbol, client_order_id=first.client_order_id) == first
        for s in SYMS:
            assert await _pages(ex, s, 4) == await _pages(ref, s, 4)


def test_migration_4_is_the_one_shipped():
    assert [p.name for p in (Path(MIGRATIONS) / "models").glob("4_*.py")] == [
        "4_20261204112349_paper_history_lookups.py"]
