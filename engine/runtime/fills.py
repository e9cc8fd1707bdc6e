"""Fill detection: one trades request per (account, symbol) since the bots' cursor, routed by client or order id."""

from __future__ import annotations

import logging

from db.enums import BotKind
from db.models import Order
from engine.exchange.client_ids import parse_client_id
from engine.exchange.protocol import Trade
from engine.runtime import grid_runner, hyperrsi_runner
from engine.runtime.bots import BotHandle

log = logging.getLogger(__name__)


def hook(h: BotHandle):
    """Every fill is booked (engine/ledger.py) whatever the strategy makes of it, then given to the strategy; the
    notification tells the position, realised PnL and fees from the books."""
    runner = hyperrsi_runner if h.kind == BotKind.HYPERRSI else grid_runner

    async def on_fill(conn, order, fill):
        fill.realized_pnl = h.fill(order.side.value, fill.amount, fill.price, fill.fee)
        await fill.save(using_db=conn, update_fields=["realized_pnl"])
        told = await runner.on_fill(h, conn, order, fill)
        await h.save_position(conn)
        kind, extra = told if told is not None else ("fill", {})
        b = h.book
        return kind, {**extra, "position": str(b.position), "realized_pnl": str(b.realized), "fees": str(b.fees)}

    return on_fill


async def poll(handles: list[BotHandle]) -> int:
    """Bots of one account and symbol (caller holds their lock): new trades ingested once each. Returns fills."""
    if not handles:
        return 0
    ex, symbol = handles[0].exchange, handles[0].symbol
    cursors = [h.meta.get("cursor") for h in handles]
    since = None if any(c is None for c in cursors) else min(cursors)
    page = await ex.fetch_my_trades(symbol, since=since)
    mine: dict[int, list[Trade]] = {}
    by_order_id: list[Trade] = []
    for t in page.trades:
        cid = parse_client_id(t.client_order_id or "")
        if cid is not None:
            mine.setdefault(cid.bot_id, []).append(t)
        elif t.order_id:
            by_order_id.append(t)  # Binance lists trades without the client id: matched by the exchange's id
    if by_order_id:
        owners = dict(await Order.filter(bot_id__in=[h.id for h in handles],
                                         exchange_order_id__in=list({t.order_id for t in by_order_id}))
                      .values_list("exchange_order_id", "bot_id"))
        for t in by_order_id:
            if t.order_id in owners:
                mine.setdefault(owners[t.order_id], []).append(t)
    count = 0
    for h in handles:
        trades = mine.get(h.id, [])
        if trades:
            try:
                count += len(await h.life.ingest_trades(trades, hook(h)))
            except Exception:
                await h.reload()  # the failed trade's transaction rolled back: so do its in-memory effects
                raise
            # advanced only once every trade is in: a failure half-way refetches them (each is recorded once)
            h.meta["cursor"] = page.cursor if page.cursor is not None else h.meta.get("cursor")
            await h.save()
        elif page.cursor is not None:
            h.meta["cursor"] = page.cursor  # in memory; written with the next change (a replay is harmless)
    return count
