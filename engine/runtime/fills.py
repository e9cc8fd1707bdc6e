"""Fill detection: one trades request per (account, symbol) since the bots' cursor, routed to bots by client id."""

from __future__ import annotations

import logging

from db.enums import BotKind
from engine.exchange.client_ids import parse_client_id
from engine.exchange.protocol import Trade
from engine.runtime import grid_runner, hyperrsi_runner
from engine.runtime.bots import BotHandle

log = logging.getLogger(__name__)


def hook(h: BotHandle):
    runner = hyperrsi_runner if h.kind == BotKind.HYPERRSI else grid_runner

    async def on_fill(conn, order, fill):
        return await runner.on_fill(h, conn, order, fill)

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
    for t in page.trades:
        cid = parse_client_id(t.client_order_id or "")
        if cid is not None:
            mine.setdefault(cid.bot_id, []).append(t)
    count = 0
    for h in handles:
        trades = mine.get(h.id, [])
        if trades:
            count += len(await h.life.ingest_trades(trades, hook(h)))
            # advanced only once every trade is in: a failure half-way refetches them (each is recorded once)
            h.meta["cursor"] = page.cursor if page.cursor is not None else h.meta.get("cursor")
            await h.save()
        elif page.cursor is not None:
            h.meta["cursor"] = page.cursor  # in memory; written with the next change (a replay is harmless)
    return count
