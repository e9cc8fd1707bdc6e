"""Reconciling bots with their exchange: at start-up (one recovery summary per user) and periodically; unknown
orders resolved, vanished ones closed out, own orphans adopted, positions closed outside the bots stopped."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator

from db.enums import OrderRole, OrderStatus
from db.models import Order, StrategyBot
from engine.exchange.client_ids import parse_client_id
from engine.exchange.protocol import OrderInfo, OrderNotFound
from engine.market.clock import Clock
from engine.notices import RecoverySummary
from engine.runtime import events, fills, positions
from engine.runtime.bots import BotHandle
from engine.runtime.locks import SymbolLocks
from engine.runtime.orders import OPEN_STATES, apply_info
from engine.runtime.outbox import notify
from engine.runtime.registry import ACTIVE, Registry
from engine.runtime.stopping import stop_bot, wall_ms

log = logging.getLogger(__name__)
SUMMED = ("fills", "closed_out", "adopted", "resolved", "placed")  # what a recovery summary tells


class Reconciler:
    def __init__(self, registry: Registry, locks: SymbolLocks, clock: Clock, *, parallel: int = 16):
        self.registry, self.locks, self.clock, self.parallel = registry, locks, clock, parallel

    async def startup(self) -> Counter:
        """Attach and reconcile every active bot; one recovery summary per user that it found anything for.

        Bots are attached a page at a time and each page is reconciled `parallel` bots at a time (bots of one
        account and symbol still one after another, under their lock): with real exchanges every bot costs a few
        network round trips, which one after another made a restart with thousands of bots last an hour."""
        started = self.clock.now_ms()
        per_user: dict[int, Counter] = defaultdict(Counter)
        sem = asyncio.Semaphore(self.parallel)

        async def recover(h: BotHandle) -> None:
            async with sem:
                counts = await self._recover(h, started)
            if counts is not None:
                per_user[h.user_id]["bots"] += 1
                per_user[h.user_id].update(counts)

        page: list[BotHandle] = []
        async for row in active_rows():
            try:
                page.append(await self.registry.attach(row))
            except Exception as e:
                log.exception("bot %s could not be attached", row.id)
                self.registry.unattached.add(row.id)
                await events.bot_error(row.user_id, row.id, row.symbol, type(e).__name__, "start", started)
            if len(page) >= 500:
                await asyncio.gather(*(recover(h) for h in page))
                page = []
        await asyncio.gather(*(recover(h) for h in page))
        total: Counter = Counter()
        for user_id, c in per_user.items():
            total.update(c)
            if any(c[k] for k in SUMMED):
                await notify(user_id, RecoverySummary(bots=c["bots"], **{k: c[k] for k in SUMMED}, user_id=user_id,
                                                      started_ms=started))
        return total

    async def _recover(self, h: BotHandle, started: int) -> Counter | None:
        """Start-up reconciliation of one bot, then its resting orders as wanted; None (and told) if it failed."""
        async with self.locks.hold(h.account_id, h.symbol):
            try:
                counts = await reconcile(h, startup=True)
                counts["placed"] += await h.resync()
                return counts
            except Exception as e:
                log.exception("bot %s: reconciliation failed", h.id)
                await events.bot_error(h.user_id, h.id, h.symbol, type(e).__name__, "reconcile", started)
                return None

    async def reconcile_all(self) -> Counter:
        total: Counter = Counter()
        for (account_id, symbol), hs in self.registry.groups().items():
            gone: list[BotHandle] = []
            async with self.locks.hold(account_id, symbol):
                for h in hs:
                    try:
                        total.update(await reconcile(h))
                        await h.resync()
                    except Exception as e:
                        await events.report([h], e, "reconcile", self.clock.now_ms())
                try:
                    gone = await positions.vanished(hs, self.clock.now_ms())
                except Exception as e:
                    await events.report(hs, e, "reconcile", self.clock.now_ms())
            for h in gone:  # their position is gone at the exchange: their orders go too, and they stop
                await stop_bot(self.registry, self.locks, await StrategyBot.get(id=h.id), close_position=False,
                               now_ms=self.clock.now_ms())
        return total


async def active_rows(page: int = 500) -> AsyncIterator[StrategyBot]:
    """Active bots in id order, one page of rows at a time: all 10,000 rows at once were tens of MB of
    short-lived model instances, interleaved with the handles built meanwhile (peak RSS, never returned)."""
    last = 0
    while True:
        rows = await StrategyBot.filter(status__in=list(ACTIVE), id__gt=last).order_by("id").limit(page)
        for row in rows:
            yield row
        if len(rows) < page:
            return
        last = rows[-1].id


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
