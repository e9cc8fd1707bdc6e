"""Order roles: the one vocabulary the strategies speak, the runtime persists and the backtest books.

The enum itself is `db.enums.OrderRole`, whose values are the strings stored in `Order.role` (never renamed in
place). It stays in db.enums because db is the lowest layer and must not import the engine; the strategies may
import exactly this pure enum module (an import-linter contract allows `engine.strategies.roles -> db.enums` and
nothing else of db).
"""

from __future__ import annotations

from db.enums import OrderRole

__all__ = ["GRID_RESTING", "HYPERRSI_RESTING", "MARKET", "STOPS", "OrderRole", "as_role"]

MARKET = frozenset({OrderRole.ENTRY, OrderRole.PYRAMID, OrderRole.CLOSE})  # sent at market, filled at once
STOPS = frozenset({OrderRole.STOP_LOSS, OrderRole.TRAILING})  # a protective stop, whatever moved it
HYPERRSI_RESTING = (OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS)
GRID_RESTING = (OrderRole.GRID_ENTRY, OrderRole.GRID_EXIT)

# The strings the strategies' functions took before they spoke OrderRole ("add", "stop"; GRID's "entry", "exit").
# Accepted until every caller passes OrderRole.
_LEGACY = {"add": OrderRole.PYRAMID, "stop": OrderRole.STOP_LOSS}
_LEGACY_GRID = {"entry": OrderRole.GRID_ENTRY, "exit": OrderRole.GRID_EXIT}


def as_role(value: str, grid: bool = False) -> OrderRole:
    """`value` as an OrderRole; a legacy string is read as it was meant (for GRID, "entry"/"exit" are its levels')."""
    if isinstance(value, OrderRole) and not (grid and value == OrderRole.ENTRY):
        return value
    legacy = (_LEGACY_GRID if grid else _LEGACY).get(value)
    return legacy if legacy is not None else OrderRole(value)
