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
from dataclasses import replace
from typing import Any

from engine.strategies.hyperrsi_orders import (
    dca_levels,
    desired_orders,
    leftover,
    order_changes,
    order_side,
    sign,
    sl_price,
    tp_price,
)
from engine.strategies.hyperrsi_settings import PRESETS, TIMEFRAMES, HyperRsiSettings
from engine.strategies.hyperrsi_signals import entry_signal, side_signal, trend_allows, trend_closes
from engine.strategies.hyperrsi_state import CandleInputs, FillEvent, HyperRsiState, StepResult
from engine.strategies.intents import Intent, IntentKind, Note
from engine.strategies.roles import OrderRole

__all__ = [
    "PRESETS", "TIMEFRAMES", "CandleInputs", "FillEvent", "HyperRsiSettings", "HyperRsiState", "Note",
    "StepResult", "add_blocker", "dca_levels", "desired_orders", "entry_signal", "leftover", "on_candle", "on_fill",
    "on_order_failed", "order_amount", "position_gone", "tp_price", "trend_allows", "why",
]

EPS = 1e-12
_FILLED = {OrderRole.TAKE_PROFIT: "tp_filled", OrderRole.STOP_LOSS: "stop_filled", OrderRole.TRAILING: "stop_filled"}
TRAILING_FLOOR = 0.001  # the original floors the trailing offset at 0.1 % of the price


def _below_minimum(qty: float, price: float, inputs: CandleInputs) -> bool:
    return qty < inputs.min_amount or qty * price < inputs.min_cost


def _add_margin(settings: HyperRsiSettings, n: int) -> float:
    return settings.investment * settings.entry_multiplier**n


def order_amount(settings: HyperRsiSettings, n: int, price: float) -> float:
    """Base units of a position's market order n at `price` (0: the first entry, n: the n-th add), before the
    runtime truncates it to the lot: its margin, investment × entry_multiplier**n, times the leverage."""
    return _add_margin(settings, n) * settings.leverage / price


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
    qty = order_amount(settings, 0, c.close)
    if _below_minimum(qty, c.close, c):
        return StepResult(state, [], [Note("below_minimum", {**details, "amount": qty, "cost": qty * c.close,
                                                              "min_amount": c.min_amount, "min_cost": c.min_cost})])
    intent = Intent(IntentKind.OPEN, order_side(side, True), f"rsi_{settings.rsi_entry_option}_{side}",
                    amount=qty, details={**details, "price": c.close, "margin": settings.investment},
                    role=OrderRole.ENTRY)
    return StepResult(replace(state, pending="entry", side=side, best=c.close), [intent], [])


def add_blocker(settings: HyperRsiSettings, state: HyperRsiState, c: CandleInputs) -> tuple[str, dict[str, Any]]:
    """Whether a held position adds on this candle: ("", {"level", "reference"}) when it does, else the first rule
    that holds it back (its code and figures, as /why tells it)."""
    if not settings.pyramiding_enabled:
        return "pyramiding_off", {}
    if state.pyramid_count >= settings.pyramiding_limit:
        return "pyramiding_limit", {"n": state.pyramid_count, "limit": settings.pyramiding_limit}
    if state.tp_stage:
        return "no_add_after_tp", {"stage": state.tp_stage}
    ref = state.average if settings.entry_criterion == "average" else state.last_fill
    level = dca_levels(settings, state.side, ref, c.atr, 1)[0]
    side = state.side
    if settings.use_check_dca_with_price and (c.close > level if side == "long" else c.close < level):
        return "add_level_not_reached", {"add_at": level, "price": c.close}
    if settings.use_rsi_with_pyramiding and not side_signal(settings, side, c.rsi_prev, c.rsi):
        return "add_needs_rsi", {"add_at": level}
    if settings.use_trend_logic and not trend_allows(side, c.trend_state):
        return "add_blocked_by_trend", {"trend": c.trend_state}
    return "", {"level": level, "reference": ref}


def _pyramid(settings: HyperRsiSettings, state: HyperRsiState, c: CandleInputs) -> StepResult | None:
    blocked, at = add_blocker(settings, state, c)
    if blocked:
        return None
    level, ref, side = at["level"], at["reference"], state.side
    n = state.pyramid_count + 1
    qty = order_amount(settings, n, c.close)
    details = {"level": level, "reference": ref, "price": c.close, "n": n, "margin": _add_margin(settings, n)}
    if _below_minimum(qty, c.close, c):
        return StepResult(state, [], [Note("below_minimum", {**details, "amount": qty})])
    intent = Intent(IntentKind.ADD, order_side(side, True), "pyramid_level_reached", amount=qty, level=n,
                    details=details, role=OrderRole.PYRAMID)
    return StepResult(replace(state, pending="add"), [intent], [])


def _trail(settings: HyperRsiSettings, state: HyperRsiState, c: CandleInputs) -> HyperRsiState:
    if not settings.trailing_stop_active:
        return state
    s = sign(state.side)
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
        return StepResult(_flat(state, settings, c.index), order_changes(desired_orders(settings, state), []),
                          [Note("dust_left", {"amount": state.size, "lot": c.lot, "price": c.close})])
    if settings.use_trend_close and trend_closes(state.side, c.trend_state):
        intent = Intent(IntentKind.CLOSE, order_side(state.side, False), "trend_reversal", amount=state.size,
                        reduce_only=True, details={"trend": c.trend_state, "price": c.close}, role=OrderRole.CLOSE)
        return StepResult(replace(state, pending="close"), [intent], [])
    if left == "remainder":
        intent = Intent(IntentKind.CLOSE, order_side(state.side, False), "tp_remainder", amount=state.size,
                        reduce_only=True, details={"amount": state.size, "price": c.close}, role=OrderRole.CLOSE)
        return StepResult(replace(state, pending="remainder"), [intent], [])
    before = desired_orders(settings, state)
    state = _trail(settings, state, c)
    intents = order_changes(before, desired_orders(settings, state))
    added = _pyramid(settings, state, c)
    if added is not None:
        return StepResult(added.state, intents + added.intents, added.notes)
    return StepResult(state, intents, [])


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
    if f.role in (OrderRole.ENTRY, OrderRole.PYRAMID):
        if state.side == "flat":  # e.g. its order was given up as never sent: the position is real, protect it
            if f.side not in ("buy", "sell"):
                raise ValueError("an entry fill arrived for a bot that asked for no entry")
            state = replace(state, side="long" if f.side == "buy" else "short", pyramid_count=0, tp_stage=0)
            notes.append(Note("late_entry_fill", {"price": f.price, "amount": f.amount}))
        size = state.size + f.amount
        avg = (state.average * state.size + f.price * f.amount) / size
        state = replace(
            state, size=size, average=avg, last_fill=f.price, tp_base_size=size, fees=state.fees + f.fee,
            pyramid_count=state.pyramid_count + (f.role == OrderRole.PYRAMID), pending="",
            realized_pnl=state.realized_pnl - f.fee,
            entries_notional=state.entries_notional + f.amount * f.price, best=state.best or f.price,
        )
        state = _protect(settings, state)
    else:
        s = sign(state.side)
        amount = min(f.amount, state.size)
        pnl = (f.price - state.average) * amount * s - f.fee
        state = replace(state, size=state.size - amount, realized_pnl=state.realized_pnl + pnl,
                        fees=state.fees + f.fee)
        notes.append(Note(_FILLED.get(f.role, f"{f.role}_filled"),
                          {"price": f.price, "amount": amount, "pnl": pnl, "stage": f.stage}))
        if state.size <= EPS * max(1.0, state.tp_base_size):
            after = _flat(state, settings, f.index)
            return StepResult(after, order_changes(before, []), notes)
        if f.role == OrderRole.TAKE_PROFIT:
            state = replace(state, tp_stage=max(state.tp_stage, f.stage))
            state = _break_even(settings, state, f.stage)
        elif f.role == OrderRole.CLOSE:
            state = replace(state, pending="")
    return StepResult(state, order_changes(before, desired_orders(settings, state)), notes)


def _break_even(settings: HyperRsiSettings, state: HyperRsiState, stage: int) -> HyperRsiState:
    on = {1: settings.use_break_even, 2: settings.use_break_even_tp2, 3: settings.use_break_even_tp3}[stage]
    if not on:
        return state
    target = state.average if stage == 1 else tp_price(settings, state.side, state.average, stage - 1, state.atr)
    s = sign(state.side)
    if state.stop is None or (target - state.stop) * s > 0:
        return replace(state, stop=target, stop_reason=f"break_even_tp{stage}")
    return state


def position_gone(settings: HyperRsiSettings, state: HyperRsiState, index: int) -> HyperRsiState:
    """The exchange no longer holds the position (liquidated, closed by hand): flat, its close price unknown, so
    no PnL is booked for it."""
    return _flat(state, settings, index)


def on_order_failed(settings: HyperRsiSettings, state: HyperRsiState, role: OrderRole, index: int) -> HyperRsiState:
    """A market order was rejected: forget it was pending (a failed first entry leaves us flat; a refused close of
    a take-profit remainder too, as no order can take it: the runtime tells the user what is left)."""
    if role == OrderRole.ENTRY and state.size == 0:
        return replace(state, pending="", side="flat")
    if state.pending == "remainder":  # the exchange takes no order for the leftover: the user is told, the bot is free
        return _flat(state, settings, index)
    return replace(state, pending="")


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
