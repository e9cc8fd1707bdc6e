"""HYPERRSI's prices and resting orders: take-profit, stop-loss and pyramiding levels, and the orders a state
implies (`desired_orders`), with the intents that change one set of them into another."""

from __future__ import annotations

import math

from engine.strategies.hyperrsi_settings import HyperRsiSettings
from engine.strategies.hyperrsi_state import HyperRsiState
from engine.strategies.intents import Intent, IntentKind, StandingOrder
from engine.strategies.roles import STOPS, OrderRole

REMAINDER_SHARE = 0.01  # a position left at or below 1 % of its size after the take-profits is closed at market


def sign(side: str) -> int:
    return 1 if side == "long" else -1


def order_side(side: str, opening: bool) -> str:
    return ("buy" if side == "long" else "sell") if opening else ("sell" if side == "long" else "buy")


def _atr_or_floor(atr: float, entry: float) -> float:
    floor = 0.001 * entry
    return floor if math.isnan(atr) or atr < floor else atr


def tp_price(settings: HyperRsiSettings, side: str, entry: float, stage: int, atr: float) -> float:
    """TP of `stage` from the entry per tp_option, clamped to stay profitable (≥ entry·1.0001 long)."""
    v, s = settings.tp_value(stage), sign(side)
    if settings.tp_option == "percentage":
        p = entry * (1 + s * v / 100)
    elif settings.tp_option == "atr":
        p = entry + s * _atr_or_floor(atr, entry) * v
    else:
        p = entry + s * v
    return max(p, entry * 1.0001) if side == "long" else min(p, entry * 0.9999)


def sl_price(settings: HyperRsiSettings, side: str, entry: float, atr: float) -> float:
    v, s = settings.sl_value, sign(side)
    if settings.sl_option == "percentage":
        return entry * (1 - s * v / 100)
    if settings.sl_option == "atr":
        return entry - s * _atr_or_floor(atr, entry) * v
    return entry - s * v


def dca_levels(settings: HyperRsiSettings, side: str, ref: float, atr: float, count: int) -> list[float]:
    """Chained pyramiding levels from `ref`: 100, 3 % → 97, 94.09, 91.2673 (long). ATR missing → 3 %."""
    levels, s, p = [], sign(side), ref
    kind, v = settings.pyramiding_entry_type, settings.pyramiding_value
    if kind == "atr" and math.isnan(atr):
        kind, v = "percent", 3.0
    for _ in range(count):
        if kind == "percent":
            p = p * (1 - s * v / 100)
        elif kind == "atr":
            p = p - s * atr * v
        else:
            p = p - s * v
        levels.append(p)
    return levels


def leftover(settings: HyperRsiSettings, state: HyperRsiState, lot: float) -> str:
    """What the next candle must clear from a position: "dust" (less than one lot: no order can carry it), a
    "remainder" (every enabled take-profit filled, no trailing stop is to take the rest, and the shares covered the
    whole position, so it is a rounding leftover, or what is left is at most 1 % of it), or ""."""
    if state.side == "flat" or state.pending:
        return ""
    if state.size < lot * (1 - 1e-9):
        return "dust"
    if state.tp_stage == 0 or (settings.trailing_stop_active and state.trailing):
        return ""
    if any(settings.tp_enabled(k) and k > state.tp_stage for k in (1, 2, 3)):
        return ""
    if settings.trailing_stop_active and state.tp_stage < settings.trailing_stage:
        return ""  # the trailing stop starts at a later stage
    shares = sum(settings.tp_ratio(k) for k in (1, 2, 3) if settings.tp_enabled(k))
    return "remainder" if shares >= 100 - 1e-9 or state.size <= REMAINDER_SHARE * state.tp_base_size else ""


def desired_orders(settings: HyperRsiSettings, state: HyperRsiState) -> list[StandingOrder]:
    """The resting orders this state implies; none while flat."""
    if state.side == "flat" or state.size <= 0:
        return []
    out: list[StandingOrder] = []
    close_side = order_side(state.side, False)
    left = state.size
    stages = [k for k in (1, 2, 3) if settings.tp_enabled(k) and k > state.tp_stage
              and not (settings.trailing_stop_active and k >= settings.trailing_stage)]  # the trailing stop takes those
    shares = sum(settings.tp_ratio(k) for k in (1, 2, 3) if settings.tp_enabled(k))
    for k in stages:
        amount = min(left, _lots(state.tp_base_size * settings.tp_ratio(k) / 100, state.lot))
        if k == stages[-1] and shares >= 100 - 1e-9 and not settings.trailing_stop_active:
            amount = left  # the last take-profit takes everything left: no lot-rounding leftover survives it
        if amount <= 0:
            continue
        left -= amount
        out.append(StandingOrder(OrderRole.TAKE_PROFIT, k, close_side, "limit",
                                 tp_price(settings, state.side, state.average, k, state.atr), amount, True, f"tp{k}"))
    if state.stop is not None:
        out.append(StandingOrder(OrderRole.STOP_LOSS, 0, close_side, "stop_market", state.stop, state.size, True,
                                 state.stop_reason))
    return out


def _lots(amount: float, lot: float) -> float:
    """`amount` down to whole lots (the runtime would truncate it anyway; here the last share can take the rest)."""
    return math.floor(amount / lot + 1e-9) * lot if lot > 0 else amount


def order_changes(before: list[StandingOrder], after: list[StandingOrder]) -> list[Intent]:
    old = {(o.role, o.level): o for o in before}
    new = {(o.role, o.level): o for o in after}
    intents = []
    for key, o in new.items():
        prev = old.get(key)
        if prev == o:
            continue
        kind = IntentKind.MOVE_STOP if o.role in STOPS and prev is not None else IntentKind.PLACE
        intents.append(Intent(kind, o.side, o.reason, amount=o.amount, price=o.price, level=o.level,
                              reduce_only=True, details={"role": o.role, "order": o.type,
                                                         "previous": prev.price if prev else None}, role=o.role))
    for key, o in old.items():
        if key not in new:
            intents.append(Intent(IntentKind.CANCEL, o.side, f"{o.reason}_cancel", amount=o.amount, price=o.price,
                                  level=o.level, details={"role": o.role}, role=o.role))
    return intents
