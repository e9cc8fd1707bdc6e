"""What a backtest's simulated account records and is asked for: orders, fills, refusals, orders for its book."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.strategies.roles import OrderRole

LIQUIDATION = "liquidation"  # the role of the venue's own close of a position: no order of the bot's, no OrderRole


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order the strategy had placed: `ts` is the open time of the candle after (or in) which it was sent;
    `role` its OrderRole's value (the runtime's Order.role) and `level` its take-profit stage or grid level."""

    ts: int
    role: str
    side: str
    type: str  # "market", "limit", "stop_market"
    price: float | None
    amount: float
    reason: str
    level: int | None = None


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution; `ts` is the open time of the candle in which it filled."""

    ts: int
    side: str
    price: float
    amount: float
    fee: float
    reason: str
    role: str = ""  # the order's OrderRole value (LIQUIDATION for the venue's own close)
    level: int | None = None
    type: str = ""  # the order's type
    order_price: float | None = None  # its limit price or stop trigger
    taker: bool = True


@dataclass(frozen=True, slots=True)
class Refusal:
    """An order the simulated venue refused, as the paper exchange would have, with the same reason key."""

    ts: int
    reason: str  # margin.BELOW_MINIMUM, INVALID_ORDER or INSUFFICIENT_FUNDS
    role: str
    side: str
    type: str
    price: float | None
    amount: float
    level: int | None = None


@dataclass(frozen=True, slots=True)
class BookOrder:
    """An order a driver puts on the simulated book, under a key that names it (e.g. (TAKE_PROFIT, 1),
    (level, role, seq)); `role` is its OrderRole (LIQUIDATION for the venue's own close)."""

    key: Any
    side: str
    type: str
    price: float | None
    amount: float
    reduce_only: bool
    role: OrderRole | str
    reason: str
    level: int | None = None


@dataclass(slots=True)
class Execution:
    want: BookOrder
    price: float
    amount: float
    fee: float
