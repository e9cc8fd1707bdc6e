"""The StrategyRunner protocol: one object per bot that the backtest and the live runtime both drive.

Pure (no asyncio, no database, no exchange): candles and fills in; market orders, the resting orders wanted and
notes out; the strategy's state (frozen, what the runtime persists) in `.state`. The driver's loop is

    step = runner.on_candle(inputs)        # after each closed candle; send step.market (fills come back below)
    step = runner.on_fill(fill)            # every execution of one of the bot's orders (or a liquidation)
    step = runner.on_refused(role, level)  # the exchange refused an order the runner asked for
    runner.desired_orders()                # keep the exchange's resting orders equal to this list
    step = runner.close(close_position)    # the bot stops: the closing market order(s), the final state
    runner.holds()                         # what the bot holds: side, size, average entry

and every condition of the strategy lives behind it (paused means no new exposure; which fill role means what;
the average a stopped grid's close is booked against), so no driver re-derives one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine.strategies.intents import Intent, Note, StandingOrder
from engine.strategies.roles import MARKET, OrderRole


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of a bot's order, in base units and floats."""

    role: OrderRole
    price: float
    amount: float
    fee: float = 0.0
    level: int = 0  # the take-profit stage (HYPERRSI) or the grid level's index
    index: int = 0  # the candle index it happened in (cooldowns)
    side: str = ""  # the order's side ("buy" / "sell")
    forced: bool = False  # the exchange closed the whole position (a liquidation), no order of the bot's


@dataclass(frozen=True, slots=True)
class Step:
    """What one call asks for: every change with its reason (`intents`, for the chat and /why) and `notes`."""

    intents: list[Intent] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def market(self) -> list[Intent]:
        """The market orders to send now, each with its OrderRole (ENTRY, PYRAMID or CLOSE)."""
        return [i for i in self.intents if i.role in MARKET]


@dataclass(frozen=True, slots=True)
class Holding:
    """What a bot holds: `position` signed in base units; `average` its entry (for a stopped grid: the average
    its closing fill is booked against)."""

    side: str  # "flat", "long", "short"
    size: float
    average: float

    @property
    def position(self) -> float:
        return self.size if self.side == "long" else -self.size if self.side == "short" else 0.0


@runtime_checkable
class StrategyRunner(Protocol):
    state: Any  # the strategy's frozen state

    def on_candle(self, inputs: Any, paused: bool = False) -> Step: ...

    def on_fill(self, fill: Fill) -> Step: ...

    def on_refused(self, role: OrderRole, level: int = 0, index: int = 0) -> Step: ...

    def desired_orders(self) -> list[StandingOrder]: ...

    def close(self, close_position: bool, reason: str = "user_stop") -> Step: ...

    def holds(self) -> Holding: ...
