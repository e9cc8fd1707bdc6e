"""Order lifecycle: a database row before every submit, unknown outcomes resolved by client id, fills recorded once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Max

from db.enums import OrderRole, OrderStatus
from db.models import Fill, Order
from db.row_updates import update_rows
from engine import metrics
from engine.exchange.client_ids import make_client_id
from engine.exchange.protocol import (
    Exchange,
    ExchangeError,
    ExchangeUnavailable,
    Market,
    OrderInfo,
    OrderNotFound,
    OrderRequest,
    OrderType,
    Side,
    Trade,
    UnknownOutcome,
)
from engine.exchange.protocol import OrderStatus as ExStatus
from engine.notices import MarketInfo, OrderRejected
from engine.runtime.outbox import notify

log = logging.getLogger(__name__)
NEVER_REACHED = "never_reached_exchange"  # the error of a row given up: the exchange never had its client id

OPEN_STATES = (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.UNKNOWN)
_FINAL = {
    ExStatus.OPEN: OrderStatus.OPEN,
    ExStatus.CLOSED: OrderStatus.CLOSED,
    ExStatus.CANCELED: OrderStatus.CANCELED,
    ExStatus.REJECTED: OrderStatus.REJECTED,
    ExStatus.EXPIRED: OrderStatus.EXPIRED,
}

REFUSAL_BACKOFF_MS, REFUSAL_BACKOFF_CAP_MS = 5_000, 900_000  # an order refused n times waits 5 s x 2^(n-1), <= 15 min
TOLD_AT = frozenset({1, 10, 100, 1000})  # refusals in a row that the user hears of


def _wall_ms() -> int:
    return int(time.time() * 1000)


ClientIdMaker = Callable[[str, int, int, str, int | None, int], str]


@dataclass(frozen=True, slots=True)
class BotRef:
    """What identifies the orders of one strategy bot."""

    user_id: int
    bot_id: int
    account_id: int
    exchange_id: str
    symbol: str


def apply_info(order: Order, info: OrderInfo) -> list[str]:
    """Copy the exchange's view onto our row; returns the changed fields. Never moves a final state back."""
    changed = []
    if info.id and order.exchange_order_id != info.id:
        order.exchange_order_id, changed = info.id, [*changed, "exchange_order_id"]
    status = _FINAL[info.status]
    final = order.status in (OrderStatus.CLOSED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
    if status != order.status and not final:
        order.status, changed = status, [*changed, "status"]
    if info.filled > order.filled:
        order.filled, changed = info.filled, [*changed, "filled"]
        if info.average is not None:
            order.average, changed = info.average, [*changed, "average"]
    return changed


class OrderLifecycle:
    """Places, cancels and tracks the orders of one bot on one exchange. Callers hold the symbol lock."""

    __slots__ = ("_make_cid", "bot", "clock", "exchange", "market", "refused", "unknown_grace_ms")

    def __init__(
        self, exchange: Exchange, bot: BotRef, client_ids: ClientIdMaker = make_client_id, *,
        unknown_grace_ms: int = 60_000, market: Market | None = None, clock: Callable[[], int] | None = None,
    ):
        self.exchange, self.bot, self._make_cid = exchange, bot, client_ids
        self.unknown_grace_ms = unknown_grace_ms
        self.market = market  # the bot's market (base units), for the notifications' `_market`
        self.clock = clock or _wall_ms  # the engine's clock (market time on a replay)
        # (role, level) -> (refusals in a row, ms before which it is not tried again, ms of the first refusal)
        self.refused: dict[tuple[str, int | None], tuple[int, int, int]] = {}

    def backing_off(self, role: str, level: int | None) -> bool:
        """Whether the order of (role, level) was refused lately and waits before it is tried again."""
        r = self.refused.get((role, level))
        return r is not None and self.clock() < r[1]

    def _refused(self, role: str, level: int | None) -> tuple[int, int, int]:
        """Counts a refusal of (role, level); returns (refusals in a row, ms before the next try, first refusal)."""
        now = self.clock()
        n, _, since = self.refused.get((role, level), (0, 0, now))
        wait = min(REFUSAL_BACKOFF_MS * 2**n, REFUSAL_BACKOFF_CAP_MS)
        self.refused[(role, level)] = (n + 1, now + wait, since)
        return n + 1, wait, since

    def market_field(self) -> dict:
        """The `_market` of the bot's notices, when the market is known."""
        return {"market": MarketInfo.of(self.market)} if self.market is not None else {}

    async def next_seq(self) -> int:
        """The number of the bot's next order."""
        row = await Order.filter(bot_id=self.bot.bot_id).annotate(m=Max("seq")).first().values("m")
        return int((row or {}).get("m") or 0) + 1

    def draft(
        self,
        role: OrderRole,
        side: Side,
        type_: OrderType,
        amount: Decimal,
        seq: int,
        *,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        reduce_only: bool = False,
        level: int | None = None,
        reason: str = "",
    ) -> Order:
        """The row of the bot's `seq`-th order, not written yet (its client id follows from the seq)."""
        cid = self._make_cid(self.bot.exchange_id, self.bot.user_id, self.bot.bot_id, role.value, level, seq)
        return Order(
            bot_id=self.bot.bot_id, account_id=self.bot.account_id, client_order_id=cid, symbol=self.bot.symbol,
            role=role, level=level, seq=seq, side=side, type=type_, price=price,
            trigger_price=trigger_price, amount=amount, reduce_only=reduce_only, reason=reason,
        )

    async def place(self, role: OrderRole, side: Side, type_: OrderType, amount: Decimal, **details: Any) -> Order:
        """The bot's next order written, then sent; `details` as `draft`'s (price, trigger_price, reduce_only, level,
        reason)."""
        order = self.draft(role, side, type_, amount, await self.next_seq(), **details)
        await order.save()
        changed = await self._submit(order)
        if changed:
            await order.save(update_fields=changed)
        return order

    async def _submit(self, order: Order) -> list[str]:
        """Send a written row's order under its client id; the row (in memory) takes what came back, or
        UNKNOWN/REJECTED; returns the fields to write."""
        try:
            answer: OrderInfo | ExchangeError = await self.exchange.create_order(self.request(order))
        except ExchangeError as e:
            answer = e
        return await self.take(order, answer)

    def request(self, order: Order) -> OrderRequest:
        """What is sent for a written row (the last step before its order leaves us)."""
        return OrderRequest(
            symbol=self.bot.symbol, side=Side(order.side), type=OrderType(order.type), amount=order.amount,
            client_order_id=order.client_order_id, price=order.price, trigger_price=order.trigger_price,
            reduce_only=order.reduce_only,
        )

    async def take(self, order: Order, answer: OrderInfo | ExchangeError) -> list[str]:
        """The exchange's answer to a sent row: the row (in memory) takes it, or UNKNOWN/REJECTED; returns the fields
        to write."""
        role, level, side = OrderRole(order.role), order.level, Side(order.side)
        if isinstance(answer, UnknownOutcome | ExchangeUnavailable):
            # It may exist: never call it failed. Reconciliation looks it up by client id.
            metrics.ORDERS.labels(self.bot.exchange_id, "unknown").inc()
            order.status, order.error = OrderStatus.UNKNOWN, answer.reason
            return ["status", "error"]
        if isinstance(answer, ExchangeError):
            metrics.ORDERS.labels(self.bot.exchange_id, "rejected").inc()
            order.status, order.error = OrderStatus.REJECTED, answer.reason
            attempts, retry_in, since = self._refused(role.value, level)
            if attempts in TOLD_AT:  # one notice when it starts, then at 10, 100, 1000 refusals in a row
                await notify(self.bot.user_id, OrderRejected(
                    bot_id=self.bot.bot_id, symbol=self.bot.symbol, reason=answer.reason, role=role.value,
                    side=side.value, amount=order.amount, price=order.price, attempts=attempts,
                    retry_in_s=retry_in // 1000, **self.market_field(), level=level, since_ms=since))
            return ["status", "error"]
        self.refused.pop((role.value, level), None)
        metrics.ORDERS.labels(self.bot.exchange_id, "accepted").inc()
        return apply_info(order, answer)

    async def refresh(self, order: Order) -> Order:
        """Learn the order's real state from the exchange by client id. OrderNotFound propagates."""
        info = await self.exchange.fetch_order(self.bot.symbol, client_order_id=order.client_order_id)
        changed = apply_info(order, info)
        if changed:
            await order.save(update_fields=changed)
        return order

    async def cancel(self, order: Order) -> Order:
        """Cancel; if the exchange no longer knows it as open, fetch it: it may have filled meanwhile."""
        try:
            info = await self.exchange.cancel_order(self.bot.symbol, client_order_id=order.client_order_id)
        except OrderNotFound:
            try:
                return await self.refresh(order)
            except OrderNotFound:
                order.status, order.error = OrderStatus.CANCELED, "not_found_at_exchange"
                await order.save(update_fields=["status", "error"])
                return order
        changed = apply_info(order, info)
        if changed:
            await order.save(update_fields=changed)
        return order

    async def resolve_unknown(self, order: Order, now_ms: int, *, send_again: bool = False) -> Order:
        """A PENDING or UNKNOWN row: adopt what the exchange has; give up only after the grace period. With
        `send_again` (the caller holds the bot's lock for a row whose sender died: a paper venue, which stores what
        it holds before it answers and refuses a client id it holds), a PENDING row the venue does not hold is sent
        now under its client id, as it would have been."""
        try:
            return await self.refresh(order)
        except OrderNotFound:
            if send_again and order.status == OrderStatus.PENDING:
                changed = await self._submit(order)
                if changed:
                    await order.save(update_fields=changed)
                return order
            age = now_ms - int(order.created_at.timestamp() * 1000)
            if age >= self.unknown_grace_ms:
                order.status, order.error = OrderStatus.REJECTED, NEVER_REACHED
                await order.save(update_fields=["status", "error"])
            return order

    async def record_fill(self, order: Order, t: Trade, conn: BaseDBAsyncClient) -> Fill | None:
        """The trade's Fill row and the order's filled amount, average and status, in the caller's transaction;
        None if the trade was recorded before (keyed by exchange trade id per account)."""
        if await Fill.filter(account_id=self.bot.account_id, trade_id=t.id).using_db(conn).exists():
            return None
        fill = await Fill.create(
            order=order, account_id=self.bot.account_id, trade_id=t.id, price=t.price, amount=t.amount,
            fee=t.fee, fee_currency=t.fee_currency, ts=t.ts, using_db=conn,
        )
        await self._apply_fill(order, fill, conn)
        return fill

    async def order_for(self, t: Trade) -> Order | None:
        q = Order.filter(bot_id=self.bot.bot_id)
        if t.client_order_id:
            order = await q.filter(client_order_id=t.client_order_id).first()
            if order is not None:
                return order
        return await q.filter(exchange_order_id=t.order_id).first() if t.order_id else None

    @staticmethod
    async def _apply_fill(order: Order, fill: Fill, conn: BaseDBAsyncClient) -> None:
        # From the recorded fills, not by increment: a refresh may already have copied the exchange's `filled`.
        fills = await Fill.filter(order_id=order.id).using_db(conn).values_list("price", "amount")
        total = sum((a for _, a in fills), Decimal(0))
        order.average = sum((p * a for p, a in fills), Decimal(0)) / total
        order.filled = max(total, order.filled)
        fields = ["filled", "average"]
        if total >= order.amount and order.status != OrderStatus.CLOSED:
            order.status = OrderStatus.CLOSED
            fields.append("status")
        await order.save(using_db=conn, update_fields=fields)


OUTCOME_FIELDS = ("exchange_order_id", "status", "error", "filled", "average")  # what a send can change on a row


async def place_together(drafts: list[tuple[OrderLifecycle, Order]]) -> list[Order]:
    """Orders of several bots (their locks held by the caller), each the next of its bot: their rows written in one
    statement before any is sent, then sent (paper venues together, their changes stored in one transaction; any
    other exchange one account's orders in turn, the accounts at once) and their outcomes written in one statement.
    A crash in between leaves rows PENDING, resolved by client id as after `place`."""
    if not drafts:
        return []
    await Order.bulk_create([o for _, o in drafts])
    rows = {o.client_order_id: o for o in await Order.filter(client_order_id__in=[o.client_order_id
                                                                                  for _, o in drafts])}
    orders = [rows[o.client_order_id] for _, o in drafts]
    together: list[tuple[OrderLifecycle, Order]] = []
    by_account: dict[int, list[tuple[OrderLifecycle, Order]]] = {}
    for (life, _), order in zip(drafts, orders, strict=True):
        if getattr(life.exchange, "create_many", None) is not None:
            together.append((life, order))
        else:
            by_account.setdefault(life.bot.account_id, []).append((life, order))
    changed: list[Order] = []
    failed: list[BaseException] = []

    async def send(items: list[tuple[OrderLifecycle, Order]]) -> None:
        for life, order in items:
            if await life._submit(order):
                changed.append(order)

    async def send_together(items: list[tuple[OrderLifecycle, Order]]) -> None:
        create_many = items[0][0].exchange.create_many
        answers = await create_many([(life.exchange, life.request(order)) for life, order in items])
        for (life, order), answer in zip(items, answers, strict=True):
            if isinstance(answer, OrderInfo | ExchangeError):
                if await life.take(order, answer):
                    changed.append(order)
            else:  # not an exchange's answer: the row stays PENDING, as when `_submit` raises
                failed.append(answer)

    try:
        await asyncio.gather(*([send_together(together)] if together else []),
                             *(send(items) for items in by_account.values()))
    finally:  # what was sent is written even when another account's send raised
        for i in range(0, len(changed), 500):
            await update_rows(Order, OUTCOME_FIELDS, [(o.pk, [getattr(o, f) for f in OUTCOME_FIELDS])
                                                      for o in changed[i:i + 500]])
    if failed:
        raise failed[0]
    return orders
