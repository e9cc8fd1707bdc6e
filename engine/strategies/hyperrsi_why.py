"""HYPERRSI's /why: which rule fired or blocked on one candle, beside the RSI and trend it saw (a decisions record).

Every rule code is in CODES; why a position did not add is the strategy's own `hyperrsi.add_blocker`.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.strategies.decisions import record, rule
from engine.strategies.hyperrsi import add_blocker
from engine.strategies.hyperrsi_settings import HyperRsiSettings
from engine.strategies.hyperrsi_state import CandleInputs, HyperRsiState
from engine.strategies.intents import Intent, IntentKind, Note

BLOCKED = ("blocked_strong_downtrend", "blocked_strong_uptrend")  # the trend filter's notes (its notices throttled)
CODES = ("paused", "waiting_for_fill", "cooldown", "no_signal", "entry", *BLOCKED, "below_minimum", "dust_left",
         "trend_reversal", "tp_remainder", "stop_moved", "trailing_moved", "pyramid_add", "pyramiding_off",
         "pyramiding_limit", "no_add_after_tp", "add_level_not_reached", "add_needs_rsi", "add_blocked_by_trend",
         "paused_no_add", "holding", "order_refused")


def candle_decision(settings: HyperRsiSettings, before: HyperRsiState, c: CandleInputs, intents: Sequence[Intent],
                    notes: Sequence[Note], after: HyperRsiState, paused: bool = False) -> dict:
    """The record of one evaluated candle: `before`/`after` the states around the step, `intents`/`notes` what it
    gave (after the runner dropped what pausing forbids)."""
    sig = {"rsi": c.rsi, "rsi_prev": c.rsi_prev, "trend": c.trend_state}
    return record(c.close, sig, _rules(settings, before, c, intents, notes, after, paused), intents)


def _rules(settings: HyperRsiSettings, before: HyperRsiState, c: CandleInputs, intents: Sequence[Intent],
           notes: Sequence[Note], after: HyperRsiState, paused: bool) -> list[list]:
    said = {n.reason: n.details for n in notes}
    if before.pending:
        return [rule("waiting_for_fill", order=before.pending)]
    if before.side == "flat":
        return [_flat(settings, before, c, intents, said, paused)]
    if "dust_left" in said:
        return [rule("dust_left", amount=before.size, lot=c.lot)]
    for i in intents:
        if i.kind == IntentKind.CLOSE:
            return [rule(i.reason, trend=c.trend_state)]  # trend_reversal or tp_remainder
    out = []
    if after.stop != before.stop and after.stop is not None:
        out.append(rule("trailing_moved" if after.stop_reason == "trailing" else "stop_moved", stop=after.stop,
                        previous=before.stop))
    add = next((i for i in intents if i.kind == IntentKind.ADD), None)
    if add is not None:
        out.append(rule("pyramid_add", n=add.level, add_at=add.details.get("level"), price=c.close))
    elif "below_minimum" in said:
        d = said["below_minimum"]
        out.append(rule("below_minimum", amount=d.get("amount"), cost=d.get("amount", 0) * c.close,
                        min_amount=c.min_amount, min_cost=c.min_cost))
    else:
        out.append(_no_add(settings, after, c, paused))
    return out


def _flat(settings: HyperRsiSettings, s: HyperRsiState, c: CandleInputs, intents: Sequence[Intent],
          said: dict, paused: bool) -> list:
    if paused:
        return rule("paused")
    if c.index < s.cooldown_until:
        return rule("cooldown", left=s.cooldown_until - c.index)
    opened = next((i for i in intents if i.kind == IntentKind.OPEN), None)
    if opened is not None:
        return rule("entry", side="long" if opened.side == "buy" else "short", amount=opened.amount, price=c.close)
    for reason in BLOCKED:
        if reason in said:
            return rule(reason, side="long" if reason == BLOCKED[0] else "short", trend=c.trend_state)
    if "below_minimum" in said:
        d = said["below_minimum"]
        return rule("below_minimum", amount=d.get("amount"), cost=d.get("cost"), min_amount=d.get("min_amount"),
                    min_cost=d.get("min_cost"))
    return rule("no_signal", mode=settings.rsi_entry_option, direction=settings.direction,
                oversold=settings.rsi_oversold, overbought=settings.rsi_overbought)


def _no_add(settings: HyperRsiSettings, s: HyperRsiState, c: CandleInputs, paused: bool) -> list:
    """Why a position got no pyramiding add on this candle: the strategy's own first check that held it back."""
    blocked, figures = add_blocker(settings, s, c)
    if blocked:
        return rule(blocked, **figures)
    return rule("paused_no_add") if paused else rule("holding")
