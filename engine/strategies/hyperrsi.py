"""HYPERRSI as a pure state machine: candle closes and fills in, intents with reasons out.

Contract with the runtime (live, paper and backtest alike):
- `on_candle(settings, state, inputs)` after each CLOSED candle of the bot's timeframe. It may ask for
  immediate MARKET orders: OPEN (first entry), ADD (pyramiding) and CLOSE (trend reversal). Their fills come
  back through `on_fill`; until then the state carries a `pending` marker so nothing is asked twice.
- `on_fill(settings, state, fill)` for every execution of one of the bot's orders (its OrderRole: ENTRY,
  PYRAMID, TAKE_PROFIT, STOP_LOSS/TRAILING, CLOSE; `stage` = the TP stage 1-3 for take-profit fills).
- Resting orders (reduce-only TP limits per stage, one stop-market for SL / break-even / trailing) are not
  commands but a function of the state: `desired_orders(settings, state)`. The runtime keeps the exchange
  equal to it (place missing, cancel or replace changed), which also repairs everything after a crash.
  The PLACE / MOVE_STOP / CANCEL intents returned by each step describe that change, for the chat and /why.
- Resting orders are identified by (role, stage): (TAKE_PROFIT, 1..3) and (STOP_LOSS, 0); market orders by
  their role and the pyramid count. Amounts are base units, prices floats; the runtime rounds to the market.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from engine.strategies.hyperrsi_settings import PRESETS, TIMEFRAMES, HyperRsiSettings
from engine.strategies.hyperrsi_signals import entry_signal, side_signal, trend_allows, trend_closes
from engine.strategies.intents import Intent, IntentKind, Note
from engine.strategies.intents import StandingOrder as RestingOrder
from engine.strategies.roles import STOPS, OrderRole, as_role

__all__ = [
    "PRESETS", "TIMEFRAMES", "CandleInputs", "FillEvent", "HyperRsiSettings", "HyperRsiState", "Note",
    "RestingOrder", "StepResult", "dca_levels", "desired_orders", "entry_signal", "leftover", "on_candle", "on_fill",
    "on_order_failed", "position_gone", "tp_price", "trend_allows", "why",
]

EPS = 1e-12
_FILLED = {OrderRole.TAKE_PROFIT: "tp_filled", OrderRole.STOP_LOSS: "stop_filled", OrderRole.TRAILING: "stop_filled"}
TRAILING_FLOOR = 0.001  # the original floors the trailing offset at 0.1 % of the price
REMAINDER_SHARE = 0.01  # a position left at or below 1 % of its size after the take-profits is closed at market


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
    role: OrderRole  # the legacy strings "add" and "stop" are read as PYRAMID and STOP_LOSS
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


def _sign(side: str) -> int:
    return 1 if side == "long" else -1


def _order_side(side: str, opening: bool) -> str:
    return ("buy" if side == "long" else "sell") if opening else ("sell" if side == "long" else "buy")


def _atr_or_floor(atr: float, entry: float) -> float:
    floor = 0.001 * entry
    return floor if math.isnan(atr) or atr < floor else atr


def tp_price(settings: HyperRsiSettings, side: str, entry: float, stage: int, atr: float) -> float:
    """TP of `stage` from the entry per tp_option, clamped to stay profitable (≥ entry·1.0001 long)."""
    v, s = settings.tp_value(stage), _sign(side)
    if settings.tp_option == "percentage":
        p = entry * (1 + s * v / 100)
    elif settings.tp_option == "atr":
        p = entry + s * _atr_or_floor(atr, entry) * v
    else:
        p = entry + s * v
    return max(p, entry * 1.0001) if side == "long" else min(p, entry * 0.9999)


def sl_price(settings: HyperRsiSettings, side: str, entry: float, atr: float) -> float:
    v, s = settings.sl_value, _sign(side)
    if settings.sl_option == "percentage":
        return entry * (1 - s * v / 100)
    if settings.sl_option == "atr":
        return entry - s * _atr_or_floor(atr, entry) * v
    return entry - s * v


def dca_levels(settings: HyperRsiSettings, side: str, ref: float, atr: float, count: int) -> list[float]:
    """Chained pyramiding levels from `ref`: 100, 3 % → 97, 94.09, 91.2673 (long). ATR missing → 3 %."""
    levels, s, p = [], _sign(side), ref
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


def _below_minimum(qty: float, price: float, inputs: CandleInputs) -> bool:
    return qty < inputs.min_amount or qty * price < inputs.min_cost


def _add_margin(settings: HyperRsiSettings, n: int) -> float:
    return settings.investment * settings.entry_multiplier**n


def _entry(settings: HyperRsiSettings, state: HyperRsiState, c: CandleInputs) -> StepResult:
    if c.index < state.cooldown_until:
        return StepResult(state, [], [])
    side = entry_signal(settings, c.rsi_prev, c.rsi)
    if side is None:
        return StepResult(state, [], [])
    details = {"rsi": c.rsi, "rsi_prev": c.rsi_prev, "mode": settings.rsi_entry_option, "trend": c.trend_state}
    if settings.entry_option == "rsi_trend" and not trend_allows(side, c.trend_state):
        reason = "blocked_strong_downtrend" if side == "long" else "blocked_strong_uptrend"
        return StepResult(state, [], [Note(reason, details)])
    qty = settings.investment * settings.leverage / c.close
    if _below_minimum(qty, c.close, c):
        return StepResult(state, [], [Note("below_minimum", {**details, "amount": qty, "cost": qty * c.close,
                                                              "min_amount": c.min_amount, "min_cost": c.min_cost})])
    intent = Intent(IntentKind.OPEN, _order_side(side, True), f"rsi_{settings.rsi_entry_option}_{side}",
                    amount=qty, details={**details, "price": c.close, "margin": settings.investment},
                    role=OrderRole.ENTRY)
    return StepResult(replace(state, pending="entry", side=side, best=c.close), [intent], [])


def _pyramid(settings: HyperRsiSettings, state: HyperRsiState, c: CandleInputs) -> StepResult | None:
    if not settings.pyramiding_enabled or state.pyramid_count >= settings.pyramiding_limit or state.tp_stage:
        return None
    ref = state.average if settings.entry_criterion == "average" else state.last_fill
    level = dca_levels(settings, state.side, ref, c.atr, 1)[0]
    side = state.side
    if settings.use_check_dca_with_price and (c.close > level if side == "long" else c.close < level):
        return None
    if settings.use_rsi_with_pyramiding and not side_signal(settings, side, c.rsi_prev, c.rsi):
        return None
    if settings.use_trend_logic and not trend_allows(side, c.trend_state):
        return None
    n = state.pyramid_count + 1
    qty = _add_margin(settings, n) * settings.leverage / c.close
    details = {"level": level, "reference": ref, "price": c.close, "n": n, "margin": _add_margin(settings, n)}
    if _below_minimum(qty, c.close, c):
        return StepResult(state, [], [Note("below_minimum", {**details, "amount": qty})])
    intent = Intent(IntentKind.ADD, _order_side(side, True), "pyramid_level_reached", amount=qty, level=n,
                    details=details, role=OrderRole.PYRAMID)
    return StepResult(replace(state, pending="add"), [intent], [])


def _trail(settings: HyperRsiSettings, state: HyperRsiState, c: CandleInputs) -> HyperRsiState:
    if not settings.trailing_stop_active:
        return state
    s = _sign(state.side)
    extreme = c.high if s > 0 else c.low
    if not state.trailing:
        start = state.average * (1 + s * 1e-9)
        if any(settings.tp_enabled(k) for k in (1, 2, 3)):
            start = tp_price(settings, state.side, state.average, settings.trailing_stage, state.atr)
        if (extreme - start) * s < 0:
            return state
        state = replace(state, trailing=True, best=extreme)
    best = max(state.best, extreme) if s > 0 else min(state.best, extreme)
    if settings.use_trailing_stop_value_with_tp2_tp3_difference:
        offset = abs(tp_price(settings, state.side, state.average, 3, state.atr)
                     - tp_price(settings, state.side, state.average, 2, state.atr))
    else:
        offset = best * settings.trailing_stop_offset_value / 100
    offset = max(offset, best * TRAILING_FLOOR)
    stop = best - s * offset
    if state.stop is None or (stop - state.stop) * s > 0:
        return replace(state, best=best, stop=stop, stop_reason="trailing")
    return replace(state, best=best)


def on_candle(settings: HyperRsiSettings, state: HyperRsiState, c: CandleInputs) -> StepResult:
    """Evaluate one closed candle: entries when flat; trend-reversal close, trailing and pyramiding when in."""
    state = replace(state, atr=c.atr if not math.isnan(c.atr) else state.atr, lot=c.lot)
    if state.pending:
        return StepResult(state, [], [])
    if state.side == "flat":  # a pending entry already carries its side, so flat means no order is out
        return _entry(settings, state, c)
    left = leftover(settings, state, c.lot)
    if left == "dust":  # below one lot: no order can carry it, the bot is flat
        return StepResult(_flat(state, settings, c.index), _diff(desired_orders(settings, state), []),
                          [Note("dust_left", {"amount": state.size, "lot": c.lot, "price": c.close})])
    if settings.use_trend_close and trend_closes(state.side, c.trend_state):
        intent = Intent(IntentKind.CLOSE, _order_side(state.side, False), "trend_reversal", amount=state.size,
                        reduce_only=True, details={"trend": c.trend_state, "price": c.close}, role=OrderRole.CLOSE)
        return StepResult(replace(state, pending="close"), [intent], [])
    if left == "remainder":
        intent = Intent(IntentKind.CLOSE, _order_side(state.side, False), "tp_remainder", amount=state.size,
                        reduce_only=True, details={"amount": state.size, "price": c.close}, role=OrderRole.CLOSE)
        return StepResult(replace(state, pending="remainder"), [intent], [])
    before = desired_orders(settings, state)
    state = _trail(settings, state, c)
    intents = _diff(before, desired_orders(settings, state))
    added = _pyramid(settings, state, c)
    if added is not None:
        return StepResult(added.state, intents + added.intents, added.notes)
    return StepResult(state, intents, [])


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


def _protect(settings: HyperRsiSettings, state: HyperRsiState) -> HyperRsiState:
    """Stop after an entry/add: the SL from the new average (unless SL waits for the last add)."""
    if not settings.use_sl:
        return state
    if settings.use_sl_on_last and settings.pyramiding_enabled and state.pyramid_count < settings.pyramiding_limit:
        return replace(state, stop=None, stop_reason="")
    return replace(state, stop=sl_price(settings, state.side, state.average, state.atr), stop_reason="sl")


def _flat(state: HyperRsiState, settings: HyperRsiSettings, index: int) -> HyperRsiState:
    return HyperRsiState(atr=state.atr, realized_pnl=state.realized_pnl, fees=state.fees,
                         cooldown_until=index + 1 + settings.cooldown, lot=state.lot)


def on_fill(settings: HyperRsiSettings, state: HyperRsiState, f: FillEvent) -> StepResult:
    """Account for one execution and return how the resting orders change."""
    before = desired_orders(settings, state)
    notes: list[Note] = []
    kind = as_role(f.role)
    if kind in (OrderRole.ENTRY, OrderRole.PYRAMID):
        if state.side == "flat":  # e.g. its order was given up as never sent: the position is real, protect it
            if f.side not in ("buy", "sell"):
                raise ValueError("an entry fill arrived for a bot that asked for no entry")
            state = replace(state, side="long" if f.side == "buy" else "short", pyramid_count=0, tp_stage=0)
            notes.append(Note("late_entry_fill", {"price": f.price, "amount": f.amount}))
        size = state.size + f.amount
        avg = (state.average * state.size + f.price * f.amount) / size
        state = replace(
            state, size=size, average=avg, last_fill=f.price, tp_base_size=size, fees=state.fees + f.fee,
            pyramid_count=state.pyramid_count + (kind == OrderRole.PYRAMID), pending="",
            realized_pnl=state.realized_pnl - f.fee,
            entries_notional=state.entries_notional + f.amount * f.price, best=state.best or f.price,
        )
        state = _protect(settings, state)
    else:
        s = _sign(state.side)
        amount = min(f.amount, state.size)
        pnl = (f.price - state.average) * amount * s - f.fee
        state = replace(state, size=state.size - amount, realized_pnl=state.realized_pnl + pnl,
                        fees=state.fees + f.fee)
        notes.append(Note(_FILLED.get(kind, f"{kind}_filled"), {"price": f.price, "amount": amount, "pnl": pnl,
                                                               "stage": f.stage}))
        if state.size <= EPS * max(1.0, state.tp_base_size):
            after = _flat(state, settings, f.index)
            return StepResult(after, _diff(before, []), notes)
        if kind == OrderRole.TAKE_PROFIT:
            state = replace(state, tp_stage=max(state.tp_stage, f.stage))
            state = _break_even(settings, state, f.stage)
        elif kind == OrderRole.CLOSE:
            state = replace(state, pending="")
    return StepResult(state, _diff(before, desired_orders(settings, state)), notes)


def _break_even(settings: HyperRsiSettings, state: HyperRsiState, stage: int) -> HyperRsiState:
    on = {1: settings.use_break_even, 2: settings.use_break_even_tp2, 3: settings.use_break_even_tp3}[stage]
    if not on:
        return state
    target = state.average if stage == 1 else tp_price(settings, state.side, state.average, stage - 1, state.atr)
    s = _sign(state.side)
    if state.stop is None or (target - state.stop) * s > 0:
        return replace(state, stop=target, stop_reason=f"break_even_tp{stage}")
    return state


def position_gone(settings: HyperRsiSettings, state: HyperRsiState, index: int) -> HyperRsiState:
    """The exchange no longer holds the position (liquidated, closed by hand): flat, its close price unknown, so
    no PnL is booked for it."""
    return _flat(state, settings, index)


def on_order_failed(settings: HyperRsiSettings, state: HyperRsiState, role: str, index: int) -> HyperRsiState:
    """A market order was rejected: forget it was pending (a failed first entry leaves us flat; a refused close of
    a take-profit remainder too, as no order can take it: the runtime tells the user what is left)."""
    if role == "entry" and state.size == 0:
        return replace(state, pending="", side="flat")
    if state.pending == "remainder":  # the exchange takes no order for the leftover: the user is told, the bot is free
        return _flat(state, settings, index)
    return replace(state, pending="")


def desired_orders(settings: HyperRsiSettings, state: HyperRsiState) -> list[RestingOrder]:
    """The resting orders this state implies; none while flat."""
    if state.side == "flat" or state.size <= 0:
        return []
    out: list[RestingOrder] = []
    close_side = _order_side(state.side, False)
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
        out.append(RestingOrder(OrderRole.TAKE_PROFIT, k, close_side, "limit",
                                tp_price(settings, state.side, state.average, k, state.atr), amount, True, f"tp{k}"))
    if state.stop is not None:
        out.append(RestingOrder(OrderRole.STOP_LOSS, 0, close_side, "stop_market", state.stop, state.size, True,
                                state.stop_reason))
    return out


def _lots(amount: float, lot: float) -> float:
    """`amount` down to whole lots (the runtime would truncate it anyway; here the last share can take the rest)."""
    return math.floor(amount / lot + 1e-9) * lot if lot > 0 else amount


def _diff(before: list[RestingOrder], after: list[RestingOrder]) -> list[Intent]:
    old = {(o.role, o.stage): o for o in before}
    new = {(o.role, o.stage): o for o in after}
    intents = []
    for key, o in new.items():
        prev = old.get(key)
        if prev == o:
            continue
        kind = IntentKind.MOVE_STOP if o.role in STOPS and prev is not None else IntentKind.PLACE
        intents.append(Intent(kind, o.side, o.reason, amount=o.amount, price=o.price, level=o.stage,
                              reduce_only=True, details={"role": o.role, "order": o.kind,
                                                         "previous": prev.price if prev else None}, role=o.role))
    for key, o in old.items():
        if key not in new:
            intents.append(Intent(IntentKind.CANCEL, o.side, f"{o.reason}_cancel", amount=o.amount, price=o.price,
                                  level=o.stage, details={"role": o.role}, role=o.role))
    return intents


def why(settings: HyperRsiSettings, state: HyperRsiState, result: StepResult | None = None) -> dict[str, Any]:
    """A structured explanation for the chat's /why: position, protection, next add, and the last step's reasons."""
    info: dict[str, Any] = {"side": state.side, "size": state.size, "average": state.average,
                            "pyramids": state.pyramid_count, "tp_stage": state.tp_stage, "stop": state.stop,
                            "stop_reason": state.stop_reason, "trailing": state.trailing, "pending": state.pending,
                            "realized_pnl": state.realized_pnl}
    if state.side != "flat" and settings.pyramiding_enabled and state.pyramid_count < settings.pyramiding_limit:
        ref = state.average if settings.entry_criterion == "average" else state.last_fill
        info["next_add_at"] = dca_levels(settings, state.side, ref, state.atr, 1)[0]
    info["resting"] = [(o.reason, o.price, o.amount) for o in desired_orders(settings, state)]
    if result is not None:
        info["intents"] = [(i.kind.value, i.reason, i.details) for i in result.intents]
        info["notes"] = [(n.reason, n.details) for n in result.notes]
    return info
