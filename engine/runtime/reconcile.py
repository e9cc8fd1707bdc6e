"""Reconciling one bot with its exchange: unknown orders resolved, vanished ones closed out, own orphans adopted."""

from __future__ import annotations

import logging
import time
from collections import Counter

from db.enums import OrderRole, OrderStatus
from db.models import Order
from engine.exchange.client_ids import parse_client_id
from engine.exchange.protocol import OrderInfo, OrderNotFound
from engine.runtime import fills
from engine.runtime.bots import BotHandle
from engine.runtime.orders import OPEN_STATES, apply_info

log = logging.getLogger(__name__)


def wall_ms() -> int:
    """Order rows are stamped with wall time (created_at), whatever clock the market runs on."""
    return int(time.time() * 1000)


async def reconcile(h: BotHandle, *, startup: bool = False) -> Counter:
    """Caller holds the (account, symbol) lock. Fills first, so an order's state is learnt from its trades.

    At start-up nothing of ours is in flight any more, so an order of unknown outcome the exchange does not know
    never reached it: it is closed out at once (and re-placed by the next sync if still wanted).
    """
    counts: Counter = Counter()
    counts["fills"] += await fills.poll([h])
    now = wall_ms() + (h.life.unknown_grace_ms if startup else 0)
    listed = {i.client_order_id: i for i in await h.exchange.fetch_open_orders(h.symbol) if i.client_order_id}
    for row in await Order.filter(bot_id=h.id, status__in=list(OPEN_STATES)).order_by("id"):
        if row.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
            row = await h.life.resolve_unknown(row, now)
            counts["resolved"] += row.status not in (OrderStatus.PENDING, OrderStatus.UNKNOWN)
            continue
        info = listed.get(row.client_order_id)
        if info is not None:  # still open: the listing says all there is, no request of its own
            changed = apply_info(row, info)
            if changed:
                await row.save(update_fields=changed)
            continue
        try:
            await h.life.refresh(row)  # gone from the open ones: filled, cancelled, or vanished
        except OrderNotFound:
            row.status, row.error = OrderStatus.CANCELED, "vanished_at_exchange"
            await row.save(update_fields=["status", "error"])
            counts["closed_out"] += 1
    counts["adopted"] += await adopt_orphans(h, list(listed.values()))
    counts["fills"] += await fills.poll([h])
    h.dirty = True
    return counts


async def adopt_orphans(h: BotHandle, open_orders: list[OrderInfo] | None = None) -> int:
    """Open orders carrying this bot's client id that we have no row for (lost between submit and commit)."""
    adopted = 0
    if open_orders is None:
        open_orders = await h.exchange.fetch_open_orders(h.symbol)
    for info in open_orders:
        cid = parse_client_id(info.client_order_id or "")
        if cid is None or cid.bot_id != h.id or cid.user_id != h.user_id:
            continue
        if await Order.filter(client_order_id=info.client_order_id).exists():
            continue
        order = Order(bot_id=h.id, account_id=h.account_id, client_order_id=info.client_order_id, symbol=h.symbol,
                      role=OrderRole(cid.role), level=cid.level, seq=cid.seq, side=info.side, type=info.type,
                      price=info.price, trigger_price=info.trigger_price, amount=info.amount,
                      reduce_only=info.reduce_only, reason="adopted")
        apply_info(order, info)
        await order.save()
        adopted += 1
    return adopted
