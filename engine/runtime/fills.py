"""A fill from the exchange's trade to its notice: one trades request per (account, symbol) since the bots' cursor,
each trade recorded once, booked, given to the strategy and told, in one transaction."""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from db.models import Fill, Order
from engine import metrics
from engine.exchange.client_ids import parse_client_id
from engine.exchange.protocol import Trade
from engine.notices import FillNotice
from engine.runtime.bots import BotHandle, FillTold
from engine.runtime.orders import OrderLifecycle
from engine.runtime.outbox import notify

log = logging.getLogger(__name__)


async def poll(handles: list[BotHandle]) -> int:
    """Bots of one account and symbol (caller holds their lock): new trades ingested once each. Returns fills."""
    if not handles:
        return 0
    ex, symbol = handles[0].exchange, handles[0].symbol
    cursors = [h.rt.cursor for h in handles]
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
                count += len(await ingest(h.life, trades, h))
            except Exception:
                await h.reload()  # the failed trade's transaction rolled back: so do its in-memory effects
                raise
            # advanced only once every trade is in: a failure half-way refetches them (each is recorded once)
            if page.cursor is not None:
                h.rt.cursor = page.cursor
            await h.save()
        elif page.cursor is not None:
            h.rt.cursor = page.cursor  # in memory; written with the next change (a replay is harmless)
    return count


async def ingest(life: OrderLifecycle, trades: list[Trade], bot: BotHandle | None = None) -> list[Fill]:
    """Each trade of ours recorded once (keyed by exchange trade id), and in the same transaction: booked in the
    bot's books (engine/ledger.py) whatever the strategy makes of it, given to the strategy, and told (its notice
    shows the position, realised PnL and fees from the books). Without a bot, recorded and told only."""
    new: list[Fill] = []
    for t in sorted(trades, key=lambda t: (t.ts, t.id)):
        order = await life.order_for(t)
        if order is None:
            continue
        async with in_transaction() as conn:
            fill = await life.record_fill(order, t, conn)
            if fill is None:
                continue
            told: FillTold = (FillNotice, {})
            if bot is not None:
                fill.realized_pnl = bot.fill(order.side.value, fill.amount, fill.price, fill.fee)
                await fill.save(using_db=conn, update_fields=["realized_pnl"])
                told = await bot.runner.on_fill(bot, conn, order, fill)
                await bot.save_position(conn)
            await notify(life.bot.user_id, fill_notice(life, order, fill, told, bot), conn=conn)
        new.append(fill)
        metrics.FILLS.labels(life.bot.exchange_id).inc()
    return new


def fill_notice(life: OrderLifecycle, order: Order, fill: Fill, told: FillTold, bot: BotHandle | None) -> FillNotice:
    """The one place a fill's notice is built: its kind and the strategy's fields from `told`, the books' totals."""
    model, extra = told
    books = {} if bot is None else {"position": bot.book.position, "realized_pnl": bot.book.realized,
                                    "fees": bot.book.fees}
    return model(account_id=life.bot.account_id, trade_id=fill.trade_id, bot_id=life.bot.bot_id,
                 symbol=life.bot.symbol, side=order.side.value, role=order.role.value, level=order.level,
                 price=fill.price, amount=fill.amount, fee=fill.fee, fee_currency=fill.fee_currency,
                 pnl=fill.realized_pnl, **life.market_field(), **extra, **books)
