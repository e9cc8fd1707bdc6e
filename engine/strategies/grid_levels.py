"""The per-level state machine of a grid: idle → entry placed → entry filled → exit placed → completed."""

from __future__ import annotations

from dataclasses import dataclass, replace

IDLE, ENTRY_PLACED, ENTRY_FILLED, EXIT_PLACED, COMPLETED, CANCELLED, FAILED = (
    "idle", "entry_placed", "entry_filled", "exit_placed", "completed", "cancelled", "failed",
)

ALLOWED: dict[str, frozenset[str]] = {
    IDLE: frozenset({ENTRY_PLACED}),
    ENTRY_PLACED: frozenset({ENTRY_FILLED, CANCELLED, FAILED}),
    ENTRY_FILLED: frozenset({EXIT_PLACED, FAILED, COMPLETED}),  # completed: closed by a stop, not by its TP
    EXIT_PLACED: frozenset({COMPLETED, ENTRY_FILLED, FAILED}),  # entry_filled: the exit was cancelled to re-price
    COMPLETED: frozenset({ENTRY_PLACED, IDLE}),
    CANCELLED: frozenset({IDLE, ENTRY_PLACED}),
    FAILED: frozenset({IDLE}),
}


class IllegalTransition(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Level:
    """One rung. `side` is the entry's order side; `seq` counts the orders placed for it (client-id hint)."""

    index: int
    price: float
    state: str = IDLE
    side: str = ""  # "buy" (long cycle) or "sell" (short cycle), fixed when the entry is placed
    amount: float = 0.0  # the entry order's amount
    filled: float = 0.0  # filled so far (the position this level holds)
    entry_price: float = 0.0  # average fill price of the entry
    order_price: float = 0.0  # price of the order resting now (entry or exit)
    seq: int = 0

    def to(self, state: str, **changes) -> Level:
        if state not in ALLOWED[self.state]:
            raise IllegalTransition(f"level {self.index}: {self.state} -> {state} is not allowed")
        return replace(self, state=state, **changes)

    @property
    def holds(self) -> bool:
        return self.state in (ENTRY_FILLED, EXIT_PLACED) or (self.state == ENTRY_PLACED and self.filled > 0)

    @property
    def resting(self) -> bool:
        return self.state in (ENTRY_PLACED, EXIT_PLACED)
