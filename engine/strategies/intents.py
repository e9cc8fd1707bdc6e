"""What a strategy asks for: intents with machine-readable reasons, the resting orders it wants, and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.strategies.roles import OrderRole


class IntentKind(StrEnum):
    """What changes (the verb); which order it concerns is its `role` (engine.strategies.roles)."""

    OPEN = "open"  # open a new position (market or limit)
    ADD = "add"  # pyramid / DCA into the open position
    CLOSE = "close"  # close the whole position
    PARTIAL_CLOSE = "partial_close"  # close part of the position (take-profit stage)
    MOVE_STOP = "move_stop"  # change the protective stop price
    PLACE = "place"  # place a resting order (grid level, counter order)
    CANCEL = "cancel"  # cancel a resting order


@dataclass(frozen=True, slots=True)
class Intent:
    """One thing the runtime should do. Prices and amounts are floats in base units; None price = market."""

    kind: IntentKind
    side: str  # "buy" / "sell" for orders; the direction of the order to send
    reason: str  # machine-readable reason code, e.g. "rsi_oversold", "tp1", "grid_counter_tp"
    amount: float = 0.0
    price: float | None = None
    level: int | None = None  # grid level index or pyramid / tp stage
    reduce_only: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # the numbers behind the reason, for /why
    role: OrderRole | None = None  # the order it sends, places, moves or cancels: what the runtime persists


@dataclass(frozen=True, slots=True)
class StandingOrder:
    """A resting order a strategy wants on the exchange (its `desired_orders`), identified by (role, level[, seq]).

    `level` is the take-profit stage (HYPERRSI; 0 for the stop) or the grid level's index; `seq` counts a grid
    level's orders (a deterministic client id). Amounts are base units, prices floats; the runtime rounds them.
    """

    role: OrderRole
    level: int
    side: str  # "buy" / "sell"
    type: str  # "limit" or "stop_market"
    price: float
    amount: float
    reduce_only: bool
    reason: str
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Note:
    """Something the user should hear about that is not an order, e.g. an entry skipped below the minimum."""

    reason: str
    details: dict[str, Any] = field(default_factory=dict)
