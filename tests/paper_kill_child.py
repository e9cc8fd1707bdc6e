"""Child process of the paper kill loop: the engine, minute by minute on replayed candles, with its paper accounts
made by the real factory (so stored in the database, nothing kept outside it). A first run sets the bots up.

    python -m tests.paper_kill_child DB_URL DATA_DIR STATE_DIR MINUTES

STATE_DIR/progress is the last minute done; STATE_DIR/arm-fill makes the run SIGKILL itself right after the first
venue write that holds a fill of a bot, STATE_DIR/arm-send right after a market order's row is written and before it
is sent; the run that reaches MINUTES writes STATE_DIR/result.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from db.database import connect, disconnect
from db.enums import BotStatus, OrderType
from db.models import Fill, Notification, Order, PaperVenueOrder, PaperVenueTrade, Position, StrategyBot
from engine.exchange.paper_state import order_from_json, trade_from_json, trade_to_json
from engine.exchange.paper_store import PaperStore
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from engine.runtime.orders import OrderLifecycle
from tests.runtime_kit import day_start, make_bots, minutes_done, tick_minutes


def _die_after_a_fill(arm: Path) -> None:
    real = PaperStore.save

    async def save(self, version, change):
        out = await real(self, version, change)
        if any(t.client_order_id for t in change.new_trades):  # stored at the venue, not yet seen by the engine
            arm.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    PaperStore.save = save


def _die_before_a_market_send(arm: Path) -> None:
    real = OrderLifecycle.request

    def request(self, order):  # the last step before an order leaves, alone or with others
        if order.type == OrderType.MARKET:  # the row is written; the exchange has not heard of it
            arm.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, order)

    OrderLifecycle.request = request


async def _result(engine: Engine) -> dict:
    """The venues, and what the database says of the bots: orders, fills, positions, notifications."""
    venues = {}
    for account_id, ex in sorted(engine.exchanges.items()):  # every stored order and trade, not the window in memory
        stored = [order_from_json(d) for d in await PaperVenueOrder.filter(account_id=account_id).order_by("seq")
                  .values_list("data", flat=True)]
        trades = await PaperVenueTrade.filter(account_id=account_id).order_by("seq").values_list("data", flat=True)
        venues[account_id] = {
            "venue": ex.inner.venue_state().to_json(),
            "orders": {o.info.client_order_id: [o.info.id, o.info.status, str(o.info.amount), str(o.info.filled),
                                                str(o.info.price), str(o.info.average), str(o.reserved)]
                       for o in stored},
            "trades": [trade_to_json(trade_from_json(t)) for t in trades]}
    rows = await Order.all().order_by("id").values("client_order_id", "status", "filled", "exchange_order_id")
    fills = await Fill.all().order_by("id").values("account_id", "trade_id", "price", "amount", "fee", "realized_pnl")
    positions = await Position.all().order_by("bot_id").values("bot_id", "side", "size", "average_entry",
                                                                "realized_pnl", "fees")
    notes = await Notification.all().order_by("id").values("kind", "dedup_key")
    return json.loads(json.dumps({"venues": venues, "orders": rows, "fills": fills, "positions": positions,
                                  "notifications": notes}, default=str))


async def main(db_url: str, data_dir: str, state_dir: str, minutes: int) -> None:
    data, state = Path(data_dir), Path(state_dir)
    start = day_start(data)
    await connect(db_url, apply_migrations=False)
    if not await StrategyBot.exists():
        _, bots = await make_bots(data, start)
        await StrategyBot.filter(id__in=[b.id for b in bots]).update(status=BotStatus.RUNNING)
    if (state / "arm-fill").exists():
        _die_after_a_fill(state / "arm-fill")
    if (state / "arm-send").exists():
        _die_before_a_market_send(state / "arm-send")
    clock = ManualClock(start + minutes_done(state) * 60_000 + 2_000)
    engine = Engine(clock=clock, replay_dir=data)  # paper accounts from make_exchange: stored venues
    await engine.start(schedule=False)
    await tick_minutes(engine, clock, start, state, minutes)
    (state / "result.json").write_text(json.dumps(await _result(engine)))
    await engine.shutdown()
    await disconnect()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], a[2], int(a[3])))
