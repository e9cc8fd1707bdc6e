"""GRID's /why: the grid as it stands (`why`) and what one candle did and why (`candle_decision`), pure.

Rule codes of a candle are in CODES; a note of the step (a refusal: below_minimum, no_centre_yet,
level_outside_bounds…) is a rule under its own reason; the runtime adds order_refused when the exchange refuses an
order the grid asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.strategies.decisions import num, record, rule
from engine.strategies.grid_levels import ENTRY_PLACED, EXIT_PLACED
from engine.strategies.grid_settings import GridSettings
from engine.strategies.grid_state import GridCandle, GridState, average_entry
from engine.strategies.intents import Intent, IntentKind

CODES = ("grid_started", "paused", "stopped", "grid_stop_loss", "grid_take_profit", "trailing_up", "trailing_down",
         "trailing_blocked_by_position", "recentre", "adx_gate_cancel", "adx_gate_holds", "armed", "below_range",
         "above_range", "waiting", "order_refused")


def _range(state: GridState | None) -> tuple[float | None, float | None]:
    if state is None or not state.levels:
        return None, None
    prices = [lvl.price for lvl in state.levels]
    return min(prices), max(prices)


def _gate_side(settings: GridSettings, adx_state: int) -> str:
    """The entry side the ADX gate holds back now ("buy" in a strong downtrend, "sell" in a strong uptrend), or ""."""
    if not settings.adx_gate:
        return ""
    return "buy" if adx_state <= -2 else "sell" if adx_state >= 2 else ""


def signals(settings: GridSettings, state: GridState | None, c: GridCandle) -> dict[str, Any]:
    lo, hi = _range(state)
    sig = {"lo": lo, "hi": hi, "adx": c.adx_state, "gate": settings.adx_gate,
           "pos": state.position if state is not None else 0.0}
    if settings.mode == "adaptive":
        sig["centre"] = c.centre
    return sig


def candle_decision(settings: GridSettings, before: GridState, c: GridCandle, intents: Sequence[Intent],
                    after: GridState, paused: bool = False) -> dict:
    """The record of one candle the grid saw (`paused`: it was not evaluated)."""
    sig = signals(settings, after, c)
    if paused:
        return record(c.close, sig, [rule("paused")], ())
    if before.stopped:
        return record(c.close, sig, [rule("stopped", reason=before.stopped)], ())
    return record(c.close, sig, _rules(settings, before, c, intents, after), intents)


def start_decision(settings: GridSettings, c: GridCandle, intents: Sequence[Intent], after: GridState) -> dict:
    """The record of the ladder planned when the bot started (its first entries armed at `c.close`)."""
    lo, hi = _range(after)
    armed = sum(1 for i in intents if i.kind == IntentKind.PLACE)
    rules = [rule("grid_started", levels=len(after.levels), lo=lo, hi=hi, armed=armed)]
    rules += [rule(reason, **details) for reason, details in after.notes]
    return record(c.close, signals(settings, after, c), rules, intents)


def _rules(settings: GridSettings, before: GridState, c: GridCandle, intents: Sequence[Intent],
           after: GridState) -> list[list]:
    if after.stopped:
        return [rule(after.stopped, price=c.close, low=c.low, high=c.high)]
    out = []
    if after.shifts > before.shifts:
        up = after.levels[-1].index not in {lvl.index for lvl in before.levels}
        lo, hi = _range(after)
        out.append(rule("trailing_up" if up else "trailing_down", lo=lo, hi=hi))
    if after.last_recenter != before.last_recenter:
        out.append(rule("recentre", previous=before.centre, centre=after.centre))
    gated = [i for i in intents if i.reason == "adx_gate_cancel"]
    side = _gate_side(settings, c.adx_state)
    if gated:
        out.append(rule("adx_gate_cancel", count=len(gated), side=side, adx=c.adx_state))
    elif side and _idle_on(after, side, c.close, settings):
        out.append(rule("adx_gate_holds", side=side, adx=c.adx_state))
    out += [rule(reason, **details) for reason, details in after.notes]
    armed = [i for i in intents if i.kind == IntentKind.PLACE and i.reason == "grid_entry"]
    if armed:
        out.append(rule("armed", count=len(armed)))
    lo, hi = _range(after)
    if not out and lo is not None and c.close < lo:
        out.append(rule("below_range", lo=lo))
    elif not out and hi is not None and c.close > hi:
        out.append(rule("above_range", hi=hi))
    elif not out:
        entries = sum(1 for lvl in after.levels if lvl.state == ENTRY_PLACED)
        exits = sum(1 for lvl in after.levels if lvl.state == EXIT_PLACED)
        out.append(rule("waiting", entries=entries, exits=exits))
    return out


def _idle_on(state: GridState, side: str, price: float, settings: GridSettings) -> bool:
    """Whether a level waits on `side` that the gate keeps from being armed (below the price for buys)."""
    if (side, settings.direction) in (("buy", "short"), ("sell", "long")):
        return False
    return any(not lvl.resting and not lvl.holds and (lvl.price < price if side == "buy" else lvl.price > price)
               for lvl in state.levels)


def why(settings: GridSettings, state: GridState | None, step: Sequence[Intent] | None = None) -> dict[str, Any]:
    """The grid as it stands, for the chat's /why: its range and levels, the position, re-centring, the ADX gate,
    trailing and a stop reason; with `step` (the last step's intents) what that step asked for."""
    if state is None:
        return {"planned": False, "mode": settings.mode}
    lo, hi = _range(state)
    count: dict[str, int] = {}
    for lvl in state.levels:
        count[lvl.state] = count.get(lvl.state, 0) + 1
    info: dict[str, Any] = {
        "planned": True, "mode": settings.mode, "direction": settings.direction, "lo": num(lo), "hi": num(hi),
        "levels": len(state.levels), "states": count, "position": num(state.position),
        "average": num(average_entry(state)), "realized_pnl": num(state.realized_pnl), "fees": num(state.fees),
        "stopped": state.stopped, "adx_gate": settings.adx_gate, "adx_threshold": settings.adx_threshold,
        "trailing": [d for d, on in (("up", settings.trailing_up), ("down", settings.trailing_down)) if on],
        "shifts": state.shifts,
    }
    if settings.mode == "adaptive":
        info["centre"] = num(state.centre)
        info["recentre_every"] = settings.recenter_candles
        info["last_recentre"] = state.last_recenter
    if settings.stop_loss_price:
        info["stop_loss_price"] = settings.stop_loss_price
    if settings.take_profit_price:
        info["take_profit_price"] = settings.take_profit_price
    info["notes"] = [(reason, details) for reason, details in state.notes]
    if step is not None:
        info["intents"] = [(i.kind.value, i.reason, i.level, i.price) for i in step]
    return info
