"""SIGKILL mid-run and restart: no duplicate order, no lost fill, every fill told exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import pickle
import random
from collections import Counter

from db.enums import BotStatus, OrderStatus
from db.models import Fill, Notification, Order, StrategyBot
from tests.runtime_kit import day_start, make_bots, run_child

MINUTES = 720


async def _run_child(db_url: str, data, state, start: int, kill_after: int | None) -> int:
    return await run_child("tests.runtime_kill_child", db_url, data, state, start, MINUTES, state=state,
                           kill_after=kill_after)


async def test_sigkill_and_restart_lose_and_duplicate_nothing(db, shared_data, tmp_path):
    start = day_start(shared_data)
    _, bots = await make_bots(shared_data, start)
    for b in bots:  # started as the chat would; the child attaches them as RUNNING bots
        await StrategyBot.filter(id=b.id).update(status=BotStatus.RUNNING)
    rng = random.Random()
    kills = sorted(rng.sample(range(60, MINUTES - 60), 3))
    for k in kills:
        await _run_child(db.url, shared_data, tmp_path, start, k)
    assert await _run_child(db.url, shared_data, tmp_path, start, None) == 0
    assert int((tmp_path / "progress").read_text()) == MINUTES

    paper = pickle.loads((tmp_path / f"paper-{bots[0].account_id}.pickle").read_bytes())
    # no duplicate order: every client id reached the exchange at most once, and each exchange order has its row
    sent = Counter(o.info.client_order_id for o in paper._orders.values())
    assert sent and max(sent.values()) == 1
    rows = {o.client_order_id: o for o in await Order.all()}
    assert set(sent) <= set(rows)
    # no lost fill: every execution of our orders is one Fill row, and each is told exactly once
    trades = [t for t in paper._trades if t.client_order_id]
    fills = {f.trade_id: f for f in await Fill.all()}
    assert {t.id for t in trades} == set(fills), "every trade recorded once"
    keys = [f"fill:{f.account_id}:{f.trade_id}" for f in fills.values()]
    told = Counter(await Notification.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
    assert all(told[k] == 1 for k in keys) and len(told) == len(keys)
    # the database's open orders are the exchange's open orders
    open_ex = {o.info.client_order_id for o in paper._orders.values() if o.info.status.value == "open"}
    open_db = set(await Order.filter(status=OrderStatus.OPEN).values_list("client_order_id", flat=True))
    assert open_ex == open_db
    assert not await Order.filter(status__in=[OrderStatus.PENDING, OrderStatus.UNKNOWN]).exists()
    assert len(trades) >= 10, f"too little happened to prove anything ({len(trades)} trades, kills at {kills})"
