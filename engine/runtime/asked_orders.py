"""Market orders that the bots of one market ask for on one candle close, sent together: their last order numbers
read in one query, their states committed in one transaction, their rows written in one statement before any is
sent and their outcomes in one (`orders.place_together`), where each bot alone took six round trips."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from db.enums import OrderRole
from db.models import Order
from engine.exchange.protocol import OrderType, Side
from engine.runtime.bots import BotHandle, rows_together
from engine.runtime.orders import place_together

_ASKED: ContextVar[dict[int, Asked] | None] = ContextVar("tb_asked_orders", default=None)


@dataclass(slots=True)
class Asked:
    """One bot's market order, asked for on a close, with what is written before it and done after it."""

    h: BotHandle
    role: OrderRole
    side: Side
    amount: Decimal
    reduce_only: bool
    reason: str
    commit: Callable[[BaseDBAsyncClient], Awaitable[None]]  # the bot's state (the order asked for), in the batch's
    done: Callable[[Order], Awaitable[None]]  # after the order came back (a refusal frees the bot)


def ask(item: Asked) -> bool:
    """Whether the order is left to the close's batch (`collecting`); otherwise the caller sends it itself."""
    batch = _ASKED.get()
    if batch is None or item.h.id in batch:
        return False
    batch[item.h.id] = item
    return True


@contextmanager
def collecting() -> Iterator[dict[int, Asked]]:
    """Inside (this task and the ones it starts) `ask` collects, by bot id; the caller sends them with `send`."""
    batch: dict[int, Asked] = {}
    token = _ASKED.set(batch)
    try:
        yield batch
    finally:
        _ASKED.reset(token)


async def send(items: list[Asked]) -> list[Order]:
    """The collected orders, their bots' locks held by the caller: each the next order of its bot, its state (which
    says which orders it waits for, after which order number) committed before any row is written. Returns the
    orders, in the order of `items`."""
    if not items:
        return []
    floors = dict(await Order.filter(bot_id__in=[a.h.id for a in items]).group_by("bot_id")
                  .annotate(m=Max("seq")).values_list("bot_id", "m"))
    for a in items:
        a.h.rt.pending_floor = int(floors.get(a.h.id) or 0)
    async with in_transaction() as conn, rows_together(conn):
        for a in items:
            await a.commit(conn)
    drafts = [(a.h.life, a.h.life.draft(a.role, a.side, OrderType.MARKET, a.amount, a.h.rt.pending_floor + 1,
                                        reduce_only=a.reduce_only, reason=a.reason)) for a in items]
    orders = await place_together(drafts)
    for a, order in zip(items, orders, strict=True):
        await a.done(order)
    return orders
