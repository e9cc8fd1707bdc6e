"""The runtime's own part of a bot's state (trade cursor, last candle, start time…), kept in StrategyBot.state."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(slots=True)
class RuntimeState:
    """Each field is stored under its own name at the top level of StrategyBot.state, next to "strategy"; a field
    that is None is not stored (rows written before a field existed load with it None)."""

    cursor: int | None = None  # the trades cursor of the bot's last poll (`since` of the next one)
    candle: int | None = None  # open time (ms) of the last candle evaluated
    started_ms: int | None = None  # when the bot was last started (identifies its stop notices)
    pending_floor: int | None = None  # the highest order seq before a market order was asked for (HYPERRSI)
    # the market orders a candle asked for, [kind, role, side, amount, reason] each (HYPERRSI): sent again after a crash
    # that came between deciding them and sending them, while that candle is still the latest
    pending_orders: list | None = None
    close_avg: float | None = None  # the average entry when a GRID stopped, for the PnL of its closing fill
    flat_seen: int | None = None  # reconciliations in a row that saw the exchange flat while the bot held
    # a stop waiting for its close to fill: what its notice will say (cancelled, close_position, emergency, card)
    stopping: dict | None = None

    @classmethod
    def from_json(cls, state: dict[str, Any] | None) -> RuntimeState:
        state = state or {}
        return cls(**{k: state[k] for k in _KEYS if k in state})

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


_KEYS = tuple(f.name for f in fields(RuntimeState))
