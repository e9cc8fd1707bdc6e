"""GRID's data: the candle inputs and the state its steps take and give, and what a step collects."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from engine.strategies.grid_levels import Level
from engine.strategies.intents import Intent

EPS = 1e-9


@dataclass(frozen=True, slots=True)
class GridCandle:
    index: int
    high: float
    low: float
    close: float
    centre: float = math.nan  # the FAMA centre (adaptive grids)
    atr: float = math.nan
    adx_state: int = 0


@dataclass(frozen=True, slots=True)
class GridState:
    levels: tuple[Level, ...]
    position: float = 0.0  # signed, base units
    realized_pnl: float = 0.0
    fees: float = 0.0
    centre: float = 0.0
    last_recenter: int = -1
    shifts: int = 0
    stopped: str = ""  # reason once the whole grid stopped
    next_index: int = 0  # the id the next level added by trailing gets
    notes: tuple[tuple[str, dict], ...] = ()  # what the last step could not do, for the user: (reason, numbers)
    close_average: float = 0.0  # the average entry when the grid stopped: what its closing fill is booked against


@dataclass(slots=True)
class StepOut:
    places: list[Intent] = field(default_factory=list)
    cancels: list[Intent] = field(default_factory=list)
    closes: list[Intent] = field(default_factory=list)
    notes: list[tuple[str, dict]] = field(default_factory=list)

    def intents(self) -> list[Intent]:
        return self.places + self.closes + self.cancels

    def done(self, state: GridState) -> tuple[GridState, list[Intent]]:
        """The step's result; its notes go on the state for the runtime to tell the user."""
        return replace(state, notes=tuple(self.notes)), self.intents()


def level_pos(state: GridState, index: int) -> int:
    for i, lvl in enumerate(state.levels):
        if lvl.index == index:
            return i
    raise KeyError(f"no level {index}")


def with_level(state: GridState, i: int, lvl: Level) -> GridState:
    levels = list(state.levels)
    levels[i] = lvl
    return replace(state, levels=tuple(levels))


def units(x: float) -> float:
    """A position in base units without float noise: fills are whole lots, so sums keep 12 decimals at most."""
    return round(x, 12) + 0.0  # + 0.0: no negative zero


def average_entry(state: GridState) -> float:
    held = [(lvl.entry_price, lvl.filled) for lvl in state.levels if lvl.filled > 0]
    total = sum(a for _, a in held)
    return sum(p * a for p, a in held) / total if total else 0.0
