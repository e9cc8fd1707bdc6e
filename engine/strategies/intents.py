"""What a strategy asks for: intents with machine-readable reasons, shared by HYPERRSI and GRID."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class IntentKind(StrEnum):
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
