"""HYPERRSI's data: the candle inputs, fills, state and step results its steps take and give."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.strategies.intents import Intent, Note
from engine.strategies.roles import OrderRole


@dataclass(frozen=True, slots=True)
class CandleInputs:
    """The last closed candle and what the runtime computed for it."""

    index: int
    open: float
    high: float
    low: float
    close: float
    rsi: float
    rsi_prev: float
    atr: float = math.nan
    trend_state: int = 0
    min_amount: float = 0.0
    min_cost: float = 0.0
    lot: float = 0.0  # the market's amount step: less than one lot is dust, no order can carry it


@dataclass(frozen=True, slots=True)
class FillEvent:
    role: OrderRole
    price: float
    amount: float
    fee: float = 0.0
    stage: int = 0  # TP stage of a take-profit fill
    index: int = 0  # candle index when it happened (for the cooldown)
    side: str = ""  # the order's side ("buy" / "sell"): an entry that fills after the bot gave it up is still adopted


@dataclass(frozen=True, slots=True)
class HyperRsiState:
    side: str = "flat"  # "flat", "long", "short"
    size: float = 0.0
    average: float = 0.0
    last_fill: float = 0.0
    pyramid_count: int = 0
    tp_base_size: float = 0.0  # the size the TP shares are taken from (after the last entry/add)
    tp_stage: int = 0  # highest TP stage filled
    stop: float | None = None
    stop_reason: str = ""
    trailing: bool = False
    best: float = 0.0
    atr: float = math.nan
    cooldown_until: int = -1
    pending: str = ""  # "entry", "add", "close" while a market order is out
    realized_pnl: float = 0.0
    fees: float = 0.0
    entries_notional: float = 0.0  # sum of entry/add amount x price of the current position
    lot: float = 0.0  # the market's lot (from the candle inputs): take-profit shares are whole lots


@dataclass(frozen=True, slots=True)
class StepResult:
    state: HyperRsiState
    intents: list[Intent]
    notes: list[Note] = field(default_factory=list)

    def __iter__(self):  # `state, intents = on_candle(...)` also works
        return iter((self.state, self.intents))
