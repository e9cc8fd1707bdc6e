"""GRID's orders: a level's take-profit price, the intents placing and cancelling a level's order, and the
resting orders of the levels (`desired_orders`)."""

from __future__ import annotations

import math

from engine.strategies.grid_ladder import MarketRules
from engine.strategies.grid_levels import ENTRY_PLACED, EXIT_PLACED, Level
from engine.strategies.grid_settings import GridSettings
from engine.strategies.grid_state import EPS, GridState, StepOut
from engine.strategies.intents import Intent, IntentKind, StandingOrder
from engine.strategies.roles import OrderRole


def place(out: StepOut, lvl: Level, role: OrderRole, reason: str, reduce_only: bool, **details) -> None:
    side = lvl.side if role == OrderRole.GRID_ENTRY else ("sell" if lvl.side == "buy" else "buy")
    amount = lvl.amount if role == OrderRole.GRID_ENTRY else lvl.filled
    out.places.append(Intent(IntentKind.PLACE, side, reason, amount=amount, price=lvl.order_price, level=lvl.index,
                             reduce_only=reduce_only, details={"role": role, "seq": lvl.seq, **details}, role=role))


def cancel(out: StepOut, lvl: Level, reason: str) -> None:
    role = OrderRole.GRID_ENTRY if lvl.state == ENTRY_PLACED else OrderRole.GRID_EXIT
    side = lvl.side if role == OrderRole.GRID_ENTRY else ("sell" if lvl.side == "buy" else "buy")
    out.cancels.append(Intent(IntentKind.CANCEL, side, reason, price=lvl.order_price, level=lvl.index,
                              details={"role": role, "seq": lvl.seq}, role=role))


def exit_price(settings: GridSettings, state: GridState, i: int, fill: float, rules: MarketRules) -> float:
    """The take-profit of level `i` filled at `fill`: the next level, clamped to the tp min/max and past both fees."""
    lvl, f = state.levels[i], settings.fee
    if lvl.side == "buy":
        lo_pct, hi_pct = settings.tp_min_pct / 100, settings.tp_max_pct / 100
        nxt = state.levels[i + 1].price if i + 1 < len(state.levels) else fill * (1 + lo_pct)
        tp = min(max(nxt, fill * (1 + lo_pct)), fill * (1 + hi_pct))
        tp = max(tp, fill * (1 + f) / (1 - f) * (1 + EPS))  # both fees paid, still a profit
        step = rules.price_step
        return math.ceil(tp / step - EPS) * step if step else tp
    lo_pct, hi_pct = settings.short_tp_min_pct / 100, settings.short_tp_max_pct / 100  # the seed: [0.93, 0.993]
    nxt = state.levels[i - 1].price if i > 0 else fill * (1 - lo_pct)
    tp = max(min(nxt, fill * (1 - lo_pct)), fill * (1 - hi_pct))
    tp = min(tp, fill * (1 - f) / (1 + f) * (1 - EPS))
    step = rules.price_step
    return math.floor(tp / step + EPS) * step if step else tp


def desired_orders(state: GridState, neutral: bool = False) -> list[StandingOrder]:
    """Every level's resting order. Exits are reduce-only, except in a `neutral` grid: on a one-way account its
    long and short levels net out, so a long level's exit can meet a flat or short net position, and a reduce-only
    sell would then be refused (the level would lose its take-profit)."""
    return level_orders(state.levels, neutral)


def level_orders(levels: tuple[Level, ...], neutral: bool = False) -> list[StandingOrder]:
    """The resting orders of `levels` (`desired_orders` of a state holding them)."""
    out = []
    for lvl in levels:
        if lvl.state == ENTRY_PLACED:
            out.append(StandingOrder(OrderRole.GRID_ENTRY, lvl.index, lvl.side, "limit", lvl.order_price,
                                     lvl.amount - lvl.filled, False, "grid_entry", lvl.seq))
        elif lvl.state == EXIT_PLACED:
            side = "sell" if lvl.side == "buy" else "buy"
            out.append(StandingOrder(OrderRole.GRID_EXIT, lvl.index, side, "limit", lvl.order_price, lvl.filled,
                                     not neutral, "grid_counter_tp", lvl.seq))
    return out
