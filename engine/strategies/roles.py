"""Order roles: the one vocabulary the strategies speak, the runtime persists and the backtest books.

The enum itself is `db.enums.OrderRole`, whose values are the strings stored in `Order.role` (never renamed in
place). It stays in db.enums because db is the lowest layer and must not import the engine; the strategies may
import exactly this pure enum module (an import-linter contract allows `engine.strategies.roles -> db.enums` and
nothing else of db).
"""

from __future__ import annotations

from db.enums import OrderRole

__all__ = ["GRID_RESTING", "HYPERRSI_RESTING", "MARKET", "STOPS", "OrderRole"]

MARKET = frozenset({OrderRole.ENTRY, OrderRole.PYRAMID, OrderRole.CLOSE})  # sent at market, filled at once
STOPS = frozenset({OrderRole.STOP_LOSS, OrderRole.TRAILING})  # a protective stop, whatever moved it
HYPERRSI_RESTING = (OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS)
GRID_RESTING = (OrderRole.GRID_ENTRY, OrderRole.GRID_EXIT)

