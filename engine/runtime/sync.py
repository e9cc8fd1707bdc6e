"""Keeping a bot's resting orders on the exchange equal to what its strategy wants: place new before cancelling old."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from db.enums import OrderRole, OrderStatus
from db.models import Order
from engine.exchange.protocol import Market, OrderType, Side
from engine.runtime.orders import OPEN_STATES, OrderLifecycle, place_together

log = logging.getLogger(__name__)


def to_price(value: float, market: Market) -> Decimal:
    d = Decimal(repr(float(value)))
    step = market.price_step
    return (d / step).to_integral_value(ROUND_HALF_UP) * step if step else d


def to_amount(value: float, market: Market) -> Decimal:
    """Base currency truncated to the lot: never more than asked for."""
    d = Decimal(repr(float(value)))
    step = market.amount_step
    return (d / step + Decimal("1e-9")).to_integral_value(ROUND_DOWN) * step if step else d


def placeable(amount: Decimal, price: Decimal | None, market: Market) -> bool:
    if amount <= 0 or (market.min_amount and amount < market.min_amount):
        return False
    return not (price is not None and market.min_cost and amount * price < market.min_cost)


@dataclass(frozen=True, slots=True)
class WantedOrder:
    """One resting order a strategy wants, in base currency, rounded to the market."""

    role: OrderRole
    level: int | None
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    trigger: Decimal | None = None
    reduce_only: bool = False
    reason: str = ""

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.role.value, self.level)

    def matches(self, row: Order) -> bool:
        remaining = row.amount - row.filled
        same_px = (self.price is None or row.price == self.price) and \
            (self.trigger is None or row.trigger_price == self.trigger)
        return row.side == self.side and row.type == self.type and same_px and remaining == self.amount


@dataclass(slots=True)
class SyncResult:
    placed: list[Order] = field(default_factory=list)
    cancelled: list[Order] = field(default_factory=list)
    failed: list[WantedOrder] = field(default_factory=list)
    waiting: int = 0  # keys skipped because an order of theirs has an unknown outcome

    @property
    def changed(self) -> bool:
        return bool(self.placed or self.cancelled)


_KNOWN: ContextVar[dict[int, list[Order]] | None] = ContextVar("tb_known_open_rows", default=None)


async def open_rows(bot_id: int, roles: tuple[OrderRole, ...]) -> list[Order]:
    """The bot's orders of `roles` not final yet, by id: read once for many bots when they are known
    (`known_open_rows`), the bot's first read then taking its share."""
    known = _KNOWN.get()
    if known is not None and bot_id in known:
        return [r for r in known.pop(bot_id) if r.role in roles]
    return await Order.filter(bot_id=bot_id, role__in=list(roles), status__in=list(OPEN_STATES)).order_by("id")


async def has_open(bot_id: int, roles: Collection[OrderRole]) -> bool:
    """Whether the bot has an order of `roles` not final yet (from the known rows, without taking them)."""
    known = _KNOWN.get()
    if known is not None and bot_id in known:
        return any(r.role in roles for r in known[bot_id])
    return await Order.filter(bot_id=bot_id, role__in=list(roles), status__in=list(OPEN_STATES)).exists()


@asynccontextmanager
async def known_open_rows(bot_ids: list[int]) -> AsyncIterator[dict[int, list[Order]]]:
    """Inside (this task), the open orders of `bot_ids` are read in one query and each bot's first `open_rows`
    takes them, where each bot's sync read its own. The caller holds the bots' locks throughout and syncs each bot
    once: nothing else changes their orders meanwhile. Yields them by bot, for the caller to look up the PENDING
    ones first (then `still_open`)."""
    known: dict[int, list[Order]] = {b: [] for b in bot_ids}
    for row in await Order.filter(bot_id__in=bot_ids, status__in=list(OPEN_STATES)).order_by("id"):
        known[row.bot_id].append(row)
    token = _KNOWN.set(known)
    try:
        yield known
    finally:
        _KNOWN.reset(token)


def still_open(known: dict[int, list[Order]]) -> None:
    """The known rows that a look-up made final since they were read (`resolve_unknown` changes a row in place)
    dropped, so a sync sees only what is still open."""
    for bot_id, rows in known.items():
        known[bot_id] = [r for r in rows if r.status in OPEN_STATES]


async def place_all(life: OrderLifecycle, wants: list[WantedOrder]) -> list[Order]:
    """The wanted orders, each the bot's next, sent in their order: several are written in one statement before any
    is sent and their outcomes in one (`place_together`), one alone as `place` does it."""
    details = [{"price": w.price, "trigger_price": w.trigger, "reduce_only": w.reduce_only, "level": w.level,
                "reason": w.reason[:64]} for w in wants]
    if len(wants) <= 1:
        return [await life.place(w.role, w.side, w.type, w.amount, **d) for w, d in zip(wants, details, strict=True)]
    first = await life.next_seq()
    return await place_together([(life, life.draft(w.role, w.side, w.type, w.amount, first + i, **d))
                                 for i, (w, d) in enumerate(zip(wants, details, strict=True))])


async def sync_resting(life: OrderLifecycle, market: Market, wants: list[WantedOrder], roles: tuple[OrderRole, ...],
                       rows: list[Order] | None = None) -> SyncResult:
    """Place every wanted order that is not resting yet, then cancel what is no longer wanted.

    An old order is cancelled only once its replacement is on the exchange, so a filled level or an open
    position never goes unprotected; keys with an order of unknown outcome wait for reconciliation.
    """
    rows = await open_rows(life.bot.bot_id, roles) if rows is None else rows
    by_key: dict[tuple[str, int | None], list[Order]] = {}
    for r in rows:
        by_key.setdefault((r.role.value, r.level), []).append(r)
    out = SyncResult()
    keep: set[int] = set()
    hold_keys: set[tuple[str, int | None]] = set()
    to_place: list[WantedOrder] = []
    for w in wants:
        mine = by_key.get(w.key, [])
        if any(r.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN) for r in mine):
            out.waiting += 1
            hold_keys.add(w.key)
            continue
        same = next((r for r in mine if r.status == OrderStatus.OPEN and w.matches(r)), None)
        if same is not None:
            keep.add(same.id)
            continue
        if not placeable(w.amount, w.price or w.trigger, market):
            hold_keys.add(w.key)  # cannot place the new one: keep whatever protects now
            continue
        if life.backing_off(*w.key):  # refused lately: tried again after its back-off, not on every supervision
            out.waiting += 1
            hold_keys.add(w.key)
            continue
        to_place.append(w)
    for w, order in zip(to_place, await place_all(life, to_place), strict=True):
        if order.status in (OrderStatus.OPEN, OrderStatus.CLOSED):
            out.placed.append(order)
            keep.add(order.id)
        elif order.status == OrderStatus.UNKNOWN:
            out.placed.append(order)
            keep.add(order.id)
            hold_keys.add(w.key)
        else:
            out.failed.append(w)
            hold_keys.add(w.key)
    for r in rows:
        if r.id in keep or (r.role.value, r.level) in hold_keys or r.status != OrderStatus.OPEN:
            continue
        out.cancelled.append(await life.cancel(r))
    return out
