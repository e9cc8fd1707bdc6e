"""Which settings a running bot may change (live-safe), which only while it holds nothing, and what a change does to
the position it holds: a HYPERRSI stop-loss moved to the new distance, GRID take-profits re-priced."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from engine.strategies.grid_ladder import MarketRules
from engine.strategies.grid_levels import EXIT_PLACED
from engine.strategies.grid_orders import exit_price
from engine.strategies.grid_settings import GridSettings
from engine.strategies.grid_state import GridState
from engine.strategies.hyperrsi_orders import sl_price
from engine.strategies.hyperrsi_settings import HyperRsiSettings
from engine.strategies.hyperrsi_state import HyperRsiState

_HYPERRSI_TP = ("tp_option", "use_tp1", "use_tp2", "use_tp3", "tp1_value", "tp2_value", "tp3_value", "tp1_ratio",
                "tp2_ratio", "tp3_ratio")
_HYPERRSI_SL = ("use_sl", "sl_option", "sl_value", "use_sl_on_last")
_GRID_TP = ("tp_min_pct", "tp_max_pct", "short_tp_min_pct", "short_tp_max_pct", "fee_rate")

# Live-safe: read afresh on every candle, fill or re-sync, so the next one simply follows them. Take-profits are
# priced from the position's average each re-sync; a stop-loss is re-placed from it (`restate`); break-even,
# trailing, the trend close and the cooldown act on later fills and candles; the entry signal only decides the next
# entry. GRID: a level's take-profit is priced when its entry fills (`restate` re-prices the resting ones), the
# re-entry gap on the next fill, bounds, trailing, the ADX gate and the re-centring pace on the next candle.
LIVE: dict[str, frozenset[str]] = {
    "hyperrsi": frozenset({
        *_HYPERRSI_TP, *_HYPERRSI_SL, "use_break_even", "use_break_even_tp2", "use_break_even_tp3",
        "trailing_stop_active", "trailing_start_point", "trailing_stop_offset_value",
        "use_trailing_stop_value_with_tp2_tp3_difference", "use_trend_close", "cooldown",
        "entry_option", "rsi_entry_option", "rsi_period", "rsi_oversold", "rsi_overbought",
    }),
    "grid": frozenset({
        *_GRID_TP, "reentry_gap_pct", "stop_loss_price", "take_profit_price", "trailing_up", "trailing_up_limit",
        "trailing_down", "trailing_down_limit", "adx_gate", "adx_threshold", "recenter_candles",
    }),
}
# Live while the bot holds no position and waits for no order: they size the next entries and adds (the leverage is
# set at the exchange again). With a position they would change what it is, so they wait for a stop.
WHEN_FLAT: dict[str, frozenset[str]] = {
    "hyperrsi": frozenset({
        "investment", "leverage", "pyramiding_enabled", "pyramiding_limit", "pyramiding_entry_type",
        "pyramiding_value", "entry_criterion", "entry_multiplier", "use_check_dca_with_price",
        "use_rsi_with_pyramiding", "use_trend_logic",
    }),
    "grid": frozenset(),
}
# Everything else needs a stop: the timeframe (candle indices, the schedule), the direction, and GRID's ladder
# (mode, range, levels, spacing, sizing, the adaptive centre and width), whose resting orders were sized by them.


def allowed(kind: str, *, flat: bool) -> frozenset[str]:
    """The settings a running bot of `kind` may change now (`flat`: it holds no position and waits for no order)."""
    return (LIVE[kind] | WHEN_FLAT[kind]) if flat else LIVE[kind]


def needs_stop(kind: str, names: Iterable[str], *, flat: bool) -> list[str]:
    """Of `names`, those a running bot may not change now, in the given order."""
    ok = allowed(kind, flat=flat)
    return [n for n in names if n not in ok]


def changed(old: Any, new: Any) -> list[str]:
    """The settings whose effective value differs between two models of one kind (defaults filled in)."""
    a, b = old.model_dump(), new.model_dump()
    return [n for n in b if a.get(n) != b[n]]


def restate(kind: str, old: Any, new: Any, state: Any, rules: MarketRules | None = None) -> Any:
    """The strategy state under the new settings, for what the resting orders do not derive by themselves."""
    moved = set(changed(old, new))
    if kind == "hyperrsi" and moved & set(_HYPERRSI_SL):
        return hyperrsi_stop(new, state)
    if kind == "grid" and moved & set(_GRID_TP):
        return grid_take_profits(new, state, rules or MarketRules())
    return state


def hyperrsi_stop(settings: HyperRsiSettings, state: HyperRsiState) -> HyperRsiState:
    """A held position's stop-loss follows the new stop-loss settings, from the average entry and the last ATR; a
    break-even or trailing stop stays where the position's progress put it."""
    if state.side == "flat" or state.size <= 0 or state.stop_reason not in ("sl", ""):
        return state
    waits = settings.use_sl_on_last and settings.pyramiding_enabled and \
        state.pyramid_count < settings.pyramiding_limit
    if not settings.use_sl or waits:
        return replace(state, stop=None, stop_reason="")
    return replace(state, stop=sl_price(settings, state.side, state.average, state.atr), stop_reason="sl")


def grid_take_profits(settings: GridSettings, state: GridState | None, rules: MarketRules) -> GridState | None:
    """Every resting take-profit re-priced from its level's entry by the new take-profit settings (a changed price
    is a new order: its `seq` grows)."""
    if state is None or state.stopped:
        return state
    levels = list(state.levels)
    for i, lvl in enumerate(levels):
        if lvl.state != EXIT_PLACED:
            continue
        tp = exit_price(settings, state, i, lvl.entry_price, rules)
        if tp != lvl.order_price:
            levels[i] = replace(lvl, order_price=tp, seq=lvl.seq + 1)
    return replace(state, levels=tuple(levels))
