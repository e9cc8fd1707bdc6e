"""Control API and reconciliation: ownership, pause/resume, emergency stop-all, orphans adopted, vanished orders
closed out, one recovery summary per user; on both databases, paper exchange, replayed candles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.enums import BotStatus, MarketType, OrderRole, OrderStatus, PositionSide
from db.models import AuditLog, Notification, Order, Position, StrategyBot
from engine.exchange.client_ids import make_client_id
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import OrderRequest, OrderType, Side
from engine.market.clock import ManualClock
from engine.runtime.control import NotYours
from engine.runtime.engine import Engine
from engine.runtime.reconcile import active_rows
from tests.runtime_kit import day_start, make_bots


def _engine(shared_data, clock, papers: dict) -> Engine:
    def factory(account):
        return papers.setdefault(account.id, PaperExchange(MarketType(account.market_type),
                                                           {"USDT": Decimal(100_000)}))
    return Engine(clock=clock, replay_dir=shared_data, exchange_factory=factory)


async def _drive(engine, clock, start, first, last):
    for k in range(first, last + 1):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()


async def test_ownership_pause_resume_and_stop_all(db, shared_data):
    start = day_start(shared_data)
    clock, papers = ManualClock(start + 2_000), {}
    engine = _engine(shared_data, clock, papers)
    user, (hrsi, grid) = await make_bots(shared_data, start)
    other, _ = await make_bots(shared_data, start, telegram_id=2, hyperrsi=False, grid=False)
    await engine.start(schedule=False)
    with pytest.raises(NotYours):
        await engine.control.start_bot(other.id, hrsi.id)
    with pytest.raises(NotYours):
        await engine.control.stop_bot(other.id, grid.id, close_position=True)
    with pytest.raises(NotYours):
        await engine.control.pause_bot(user.id, 10_000)
    assert await engine.control.stop_all(other.id, close_positions=True) == 0

    await engine.control.start_bot(user.id, hrsi.id)
    await engine.control.pause_bot(user.id, hrsi.id)
    assert (await StrategyBot.get(id=hrsi.id)).status == BotStatus.PAUSED
    await _drive(engine, clock, start, 0, 240)
    assert not await Order.filter(bot_id=hrsi.id).exists(), "a paused flat bot opens nothing"
    assert engine.handles[hrsi.id].rt.candle >= start + 235 * 60_000  # still evaluated
    await engine.control.resume_bot(user.id, hrsi.id)
    await engine.control.start_bot(user.id, grid.id)
    await _drive(engine, clock, start, 241, 720)
    assert await Order.filter(bot_id=hrsi.id, role=OrderRole.ENTRY).exists()

    n = await engine.control.stop_all(user.id, close_positions=False)
    assert n == 2
    assert not await Order.filter(status=OrderStatus.OPEN).exists()
    assert {r.status for r in await StrategyBot.filter(user_id=user.id)} == {BotStatus.STOPPED}
    assert not engine.handles
    stopped = await Notification.filter(kind="bot_stopped").values_list("payload", flat=True)
    assert len(stopped) == 2 and all(p["emergency"] and p["closed"] == "0" for p in stopped)
    actions = await AuditLog.filter(user_id=user.id).values_list("action", flat=True)
    assert sorted(actions) == ["bot.pause", "bot.resume", "bot.start", "bot.start", "bot.stop_all", "bot.stop_all"]
    paper = papers[hrsi.account_id]
    assert not await paper.fetch_open_orders()
    assert await paper.fetch_positions(), "positions were kept as asked"


async def test_restart_adopts_orphans_closes_out_vanished_and_sums_up_once(db, shared_data):
    start = day_start(shared_data)
    clock, papers = ManualClock(start + 2_000), {}
    engine = _engine(shared_data, clock, papers)
    user, (grid,) = await make_bots(shared_data, start, hyperrsi=False)
    await engine.start(schedule=False)
    await engine.control.start_bot(user.id, grid.id)
    await _drive(engine, clock, start, 0, 30)
    await engine.shutdown()
    paper = papers[grid.account_id]
    rows = await Order.filter(bot_id=grid.id, status=OrderStatus.OPEN).order_by("id")
    assert len(rows) >= 3
    # while we were down: one resting order vanished, one order of ours reached the exchange without its row
    vanished = rows[0]
    oid = paper._by_client.pop(vanished.client_order_id)
    paper._orders.pop(oid)
    cid = make_client_id("paper", user.id, grid.id, "grid_entry", 99, 999)
    await paper.create_order(OrderRequest("ETH/USDT:USDT", Side.BUY, OrderType.LIMIT, Decimal("0.1"), cid,
                                          price=Decimal(1000)))
    await paper.create_order(OrderRequest("ETH/USDT:USDT", Side.BUY, OrderType.LIMIT, Decimal("0.1"),
                                          "somebodyElse1", price=Decimal(1000)))

    again = _engine(shared_data, clock, papers)
    counts = await again.start(schedule=False)
    assert counts["adopted"] == 1 and counts["closed_out"] == 1
    v = await Order.get(id=vanished.id)
    assert (v.status, v.error) == (OrderStatus.CANCELED, "vanished_at_exchange")
    adopted = await Order.get(client_order_id=cid)
    assert (adopted.level, adopted.seq, adopted.reason) == (99, 999, "adopted")
    assert not await Order.filter(client_order_id="somebodyElse1").exists()  # not ours: left alone
    summaries = await Notification.filter(kind="recovery_summary").values_list("payload", flat=True)
    assert len(summaries) == 1 and summaries[0]["adopted"] == 1 and summaries[0]["closed_out"] == 1
    # the vanished entry is wanted again, so it was re-placed; the adopted one is not wanted, so cancelled
    assert await Order.filter(bot_id=grid.id, role=vanished.role, level=vanished.level,
                              status=OrderStatus.OPEN).exists()
    assert (await Order.get(client_order_id=cid)).status == OrderStatus.CANCELED
    await again.shutdown()


async def test_start_reads_active_bots_a_page_at_a_time(db, shared_data):
    """Every active bot exactly once, in id order, whatever the page size; inactive ones skipped."""
    start = day_start(shared_data)
    _, bots = await make_bots(shared_data, start)
    _, more = await make_bots(shared_data, start, telegram_id=2)
    rows = [*bots, *more]
    for row, status in zip(rows, (BotStatus.RUNNING, BotStatus.STOPPED, BotStatus.PAUSED, BotStatus.STOPPING),
                           strict=True):
        await StrategyBot.filter(id=row.id).update(status=status)
    want = [r.id for r, s in zip(rows, (1, 0, 1, 1), strict=True) if s]
    for page in (1, 2, 3, 500):
        assert [r.id async for r in active_rows(page)] == want


async def test_a_position_liquidated_at_the_exchange_stops_the_bot_after_two_checks(db, shared_data):
    start = day_start(shared_data)
    clock, papers = ManualClock(start + 2_000), {}
    engine = _engine(shared_data, clock, papers)
    user, (grid,) = await make_bots(shared_data, start, hyperrsi=False, grid_kw={"leverage": 20})
    await engine.start(schedule=False)
    await engine.control.start_bot(user.id, grid.id)
    await _drive(engine, clock, start, 0, 720)
    h, paper = engine.handles[grid.id], papers[grid.account_id]
    assert h.strat.position > 0, "the grid holds nothing: the test proves nothing"
    assert paper.liquidate(grid.symbol, paper._last[grid.symbol], clock.now_ms()) is not None
    assert not await paper.fetch_positions([grid.symbol])

    await engine.reconcile_all()  # once: perhaps a trade not listed yet; nothing is done
    assert (await StrategyBot.get(id=grid.id)).status == BotStatus.RUNNING and h.strat.position > 0
    await engine.reconcile_all()
    assert (await StrategyBot.get(id=grid.id)).status == BotStatus.STOPPED
    pos = await Position.get(bot_id=grid.id)
    assert (pos.side, pos.size) == (PositionSide.FLAT, 0)
    notes = await Notification.filter(kind="note").values_list("payload", flat=True)
    gone = [p for p in notes if p["reason"] == "position_closed_outside"]
    assert len(gone) == 1 and gone[0]["details"]["amount"] > 0
    assert await Notification.filter(kind="bot_stopped").exists()
    assert not await Order.filter(bot_id=grid.id, status=OrderStatus.OPEN).exists()
    await engine.shutdown()


async def test_the_stop_summary_names_only_the_close_the_stop_made(db, shared_data):
    # seen in a transcript: a HYPERRSI bot closed by the trend filter, stopped flat with "close the position", was
    # told "Amount closed: 0.0000 BTC · Closed at: 62,843.4" (the earlier trend close's price)
    from engine.strategies.hyperrsi_settings import PRESETS

    start = day_start(shared_data)
    clock = ManualClock(start + 2_000)
    engine = Engine(clock=clock, replay_dir=shared_data)
    await engine.start(schedule=False)
    user, (bot,) = await make_bots(shared_data, start, grid=False)
    settings = {**bot.settings, **PRESETS["conservative"], "investment": 100, "leverage": 3, "direction": "both"}
    await StrategyBot.filter(id=bot.id).update(settings=settings)
    await engine.control.start_bot(user.telegram_id, bot.id)
    closed_early = False
    for k in range(1, 3000):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()
        if await Order.filter(bot_id=bot.id, role=OrderRole.CLOSE, status=OrderStatus.CLOSED).exists():
            pos = await Position.get_or_none(bot_id=bot.id)
            if pos is None or pos.side == PositionSide.FLAT:
                closed_early = True
                break
    assert closed_early, "no close before the stop in 50 h of replay"
    assert await engine.control.stop_bot(user.telegram_id, bot.id, True) == BotStatus.STOPPED
    stopped = (await Notification.get(kind="bot_stopped")).payload
    assert stopped["closed"] == "0" and stopped.get("close_price") is None, stopped
    await engine.shutdown()
