"""GRID as a pure state machine over its levels: start, candle closes and fills in, intents with reasons out.

Contract with the runtime (live, paper and backtest alike):
- `start(settings, rules, price, centre, atr)` plans the ladder (refusing below-minimum sizes with numbers) and
  places the first entries; `on_candle(...)` after each closed candle of `settings.timeframe` (bounds, trailing,
  re-centring, the ADX gate, arming idle levels); `on_fill(...)` for every execution of a level's order,
  naming the level index and its OrderRole (GRID_ENTRY or GRID_EXIT); `stop(...)` cancels everything (and
  closes, remembering the average entry the close is booked against: `on_close_fill`).
- Every resting order belongs to one level: `desired_orders(state)` lists them, each with the level index, the
  role (GRID_ENTRY / GRID_EXIT) and the level's `seq` — (bot, level, role, seq) is a deterministic client id.
  The runtime keeps the exchange equal to it, which also repairs a crash between a fill and its counter order.
- PLACE intents always come before the CANCEL intents they replace, so a filled level is never without its
  take-profit and the grid is never emptier than it needs to be.
"""

from __future__ import annotations

import math
from dataclasses import replace

from engine.strategies.grid_ladder import (
    GridPreview,
    MarketRules,
    PlanRefused,
    adaptive_levels,
    level_amount,
    plan_ladder,
    preview,
    round_price,
    seed_levels_20,
)
from engine.strategies.grid_levels import (
    CANCELLED,
    COMPLETED,
    ENTRY_FILLED,
    ENTRY_PLACED,
    EXIT_PLACED,
    FAILED,
    IDLE,
    IllegalTransition,
    Level,
)
from engine.strategies.grid_orders import cancel, desired_orders, exit_price, level_orders, place
from engine.strategies.grid_settings import PRESETS, GridSettings
from engine.strategies.grid_state import (
    EPS,
    GridCandle,
    GridState,
    StepOut,
    average_entry,
    level_pos,
    units,
    with_level,
)
from engine.strategies.intents import Intent, IntentKind
from engine.strategies.roles import OrderRole

__all__ = [
    "PRESETS", "GridCandle", "GridPreview", "GridSettings", "GridState", "IllegalTransition", "Level", "MarketRules",
    "PlanRefused", "adaptive_levels", "desired_orders", "on_candle", "on_fill", "plan_ladder",
    "preview", "seed_levels_20", "start", "stop",
]


def _entry_side(settings: GridSettings, level_price: float, market: float) -> str | None:
    below, above = level_price < market * (1 - EPS), level_price > market * (1 + EPS)
    if settings.direction == "long":
        return "buy" if below else None
    if settings.direction == "short":
        return "sell" if above else None
    return "buy" if below else "sell" if above else None


def _gate_blocks(settings: GridSettings, side: str, adx_state: int) -> bool:
    return settings.adx_gate and ((side == "buy" and adx_state <= -2) or (side == "sell" and adx_state >= 2))


def _amount_or_note(settings: GridSettings, rules: MarketRules, price: float, level: int, out: StepOut) -> float:
    """Level `level`'s amount at `price`, or 0.0 with a note when the market would refuse it (below its minimum)."""
    try:
        return level_amount(settings, rules, price)
    except PlanRefused as e:
        out.notes.append((e.reason, {**e.details, "level": level}))
        return 0.0


def _arm(settings: GridSettings, state: GridState, rules: MarketRules, market: float, adx: int, out: StepOut,
         price_override: dict[int, float] | None = None, reason: str = "grid_entry") -> GridState:
    for i, lvl in enumerate(state.levels):
        if lvl.state not in (IDLE, COMPLETED, CANCELLED):
            continue
        price = (price_override or {}).get(lvl.index, lvl.price)
        side = _entry_side(settings, price, market)
        if side is None or _gate_blocks(settings, side, adx):
            continue
        amount = _amount_or_note(settings, rules, price, lvl.index, out)
        if not amount:
            continue
        lvl = lvl.to(ENTRY_PLACED, side=side, amount=amount, filled=0.0, entry_price=0.0, order_price=price,
                     seq=lvl.seq + 1)
        place(out, lvl, OrderRole.GRID_ENTRY, reason, False, market=market)
        state = with_level(state, i, lvl)
    return state


def start(settings: GridSettings, rules: MarketRules, price: float, centre: float = math.nan,
          atr: float = math.nan, adx_state: int = 0, index: int = 0) -> tuple[GridState, list[Intent]]:
    """Plan the ladder and place the first entries. Raises PlanRefused (with numbers) when it cannot trade."""
    c = centre if settings.mode == "adaptive" and math.isfinite(centre) else price
    prices = plan_ladder(settings, rules, centre=c, atr=atr)
    for p in prices:
        level_amount(settings, rules, p)  # refuse the whole plan if any level is below the minimum
    state = GridState(levels=tuple(Level(i, p) for i, p in enumerate(prices)), centre=c, last_recenter=index,
                      next_index=len(prices))
    out = StepOut()
    state = _arm(settings, state, rules, price, adx_state, out)
    return out.done(state)


def _reentry(settings: GridSettings, state: GridState, i: int, fill: float, rules: MarketRules,
             out: StepOut) -> GridState:
    """After a fill at level i, make sure the next level on the entry side is armed, at least the gap away."""
    lvl = state.levels[i]
    j = i - 1 if lvl.side == "buy" else i + 1
    if not 0 <= j < len(state.levels) or state.levels[j].state not in (IDLE, COMPLETED, CANCELLED):
        return state
    gap = settings.reentry_gap_pct / 100
    target = state.levels[j].price
    target = min(target, fill * (1 - gap)) if lvl.side == "buy" else max(target, fill * (1 + gap))
    target = round_price(target, rules.price_step)
    market = fill  # the fill is the freshest price the strategy knows
    return _arm(settings, state, rules, market, 0, out, {state.levels[j].index: target}, "grid_reentry")


def _late_entry(settings: GridSettings, state: GridState, i: int, side: str, price: float, amount: float,
                rules: MarketRules, out: StepOut) -> GridState:
    """An entry order the grid had already replaced or cancelled filled before its cancel arrived: the level
    takes the amount as its position and gets a take-profit for all it holds (merged with what it held)."""
    lvl = state.levels[i]
    if lvl.holds and lvl.side != side:
        raise IllegalTransition(f"level {lvl.index}: a late {side} entry fill on a {lvl.side} position")
    sign = 1.0 if side == "buy" else -1.0
    if lvl.holds:
        filled = lvl.filled + amount
        avg = (lvl.entry_price * lvl.filled + price * amount) / filled
        lvl = replace(lvl, amount=max(lvl.amount, filled), filled=filled, entry_price=avg)
        if lvl.state != ENTRY_FILLED:  # a take-profit resting, or the rest of an entry: one exit for it all
            lvl = lvl.to(ENTRY_FILLED)
    else:  # an entry of the other side resting now (a neutral level that changed sides) is dropped for it
        base = lvl.to(IDLE) if lvl.state == FAILED else lvl.to(CANCELLED) if lvl.state == ENTRY_PLACED else lvl
        lvl = base.to(ENTRY_PLACED, side=side, amount=amount, order_price=price).to(
            ENTRY_FILLED, filled=amount, entry_price=price)
    state = replace(with_level(state, i, lvl), position=units(state.position + sign * amount))
    tp = exit_price(settings, state, i, lvl.entry_price, rules)
    lvl = lvl.to(EXIT_PLACED, order_price=tp, seq=lvl.seq + 1)
    place(out, lvl, OrderRole.GRID_EXIT, "grid_late_fill_tp", True, entry=lvl.entry_price)
    out.notes.append(("late_entry_fill", {"level": lvl.index, "price": price, "amount": amount, "take_profit": tp}))
    return with_level(state, i, lvl)


def on_fill(settings: GridSettings, state: GridState, level: int, role: OrderRole, price: float, amount: float,
            fee: float, rules: MarketRules, side: str = "") -> tuple[GridState, list[Intent]]:
    """One execution of the order of `level` (role GRID_ENTRY or GRID_EXIT; `side` the order's side); returns the
    counter orders."""
    i = level_pos(state, level)
    lvl = state.levels[i]
    sign = 1.0 if lvl.side == "buy" else -1.0
    out = StepOut()
    state = replace(state, fees=state.fees + fee, realized_pnl=state.realized_pnl - fee)
    if role == OrderRole.GRID_ENTRY:
        if lvl.state != ENTRY_PLACED or (side and side != lvl.side):
            if not side or state.stopped:
                raise IllegalTransition(f"level {level}: an entry fill in state {lvl.state}")
            return out.done(_late_entry(settings, state, i, side, price, amount, rules, out))
        filled = lvl.filled + amount
        avg = (lvl.entry_price * lvl.filled + price * amount) / filled
        lvl = replace(lvl, filled=filled, entry_price=avg)
        state = replace(with_level(state, i, lvl), position=units(state.position + sign * amount))
        if filled >= lvl.amount * (1 - EPS):
            tp = exit_price(settings, state, i, avg, rules)
            lvl = lvl.to(ENTRY_FILLED).to(EXIT_PLACED, order_price=tp, seq=lvl.seq + 1)
            place(out, lvl, OrderRole.GRID_EXIT, "grid_counter_tp", True, entry=avg)
            state = with_level(state, i, lvl)
            state = _reentry(settings, state, i, avg, rules, out)
        return out.done(state)
    if role != OrderRole.GRID_EXIT or lvl.state != EXIT_PLACED:
        raise IllegalTransition(f"level {level}: a {role} fill in state {lvl.state}")
    amount = min(amount, lvl.filled)
    pnl = sign * (price - lvl.entry_price) * amount
    left = lvl.filled - amount
    state = replace(state, position=units(state.position - sign * amount), realized_pnl=state.realized_pnl + pnl)
    if left > lvl.amount * EPS:
        return replace(with_level(state, i, replace(lvl, filled=left)), notes=()), []
    lvl = lvl.to(COMPLETED, filled=0.0)
    state = with_level(state, i, lvl)
    if not state.stopped:
        state = _arm(settings, state, rules, price, 0, out, reason="grid_rearm")
    return out.done(state)


def _stop_all(state: GridState, reason: str, close: bool, out: StepOut) -> GridState:
    average = state.close_average if state.stopped else average_entry(state)  # a stopped grid's levels hold nothing
    levels = []
    for lvl in state.levels:
        if lvl.resting:
            cancel(out, lvl, f"{reason}_cancel")
        levels.append(Level(lvl.index, lvl.price, seq=lvl.seq))
    if close and abs(state.position) > EPS:
        out.closes.append(Intent(IntentKind.CLOSE, "sell" if state.position > 0 else "buy", reason,
                                 amount=abs(state.position), reduce_only=True, role=OrderRole.CLOSE))
    return replace(state, levels=tuple(levels), stopped=reason, close_average=average)


def stop(settings: GridSettings, state: GridState, close_position: bool,
         reason: str = "user_stop") -> tuple[GridState, list[Intent]]:
    out = StepOut()
    state = _stop_all(state, reason, close_position, out)
    return out.done(state)


def position_gone(settings: GridSettings, state: GridState, reason: str) -> GridState:
    """The exchange no longer holds the grid's position (liquidated, closed by hand): the grid stops, flat, with no
    PnL booked for a close whose price is unknown."""
    return replace(stop(settings, state, False, reason)[0], position=0.0, notes=())


def on_close_fill(state: GridState, price: float, amount: float, fee: float,
                  average_entry: float | None = None) -> GridState:
    """The market close of a stopped grid filled: book its PnL against the position's average entry (by default
    the one the grid had when it stopped)."""
    if average_entry is None:
        average_entry = state.close_average
    sign = 1.0 if state.position > 0 else -1.0
    amount = min(amount, abs(state.position))
    pnl = sign * (price - average_entry) * amount - fee
    return replace(state, position=units(state.position - sign * amount), realized_pnl=state.realized_pnl + pnl,
                   fees=state.fees + fee)


def _bounds(settings: GridSettings, c: GridCandle) -> str:
    below = settings.direction in ("long", "neutral")
    sl, tp = settings.stop_loss_price, settings.take_profit_price
    if sl and ((below and c.low <= sl) or (not below and c.high >= sl)):
        return "grid_stop_loss"
    if tp and ((below and c.high >= tp) or (not below and c.low <= tp)):
        return "grid_take_profit"
    return ""


def _trail(settings: GridSettings, state: GridState, c: GridCandle, out: StepOut) -> GridState:
    levels = state.levels
    if len(levels) < 2:
        return state
    up = settings.trailing_up and c.close > levels[-1].price and \
        (not settings.trailing_up_limit or c.close <= settings.trailing_up_limit)
    down = settings.trailing_down and c.close < levels[0].price and \
        (not settings.trailing_down_limit or c.close >= settings.trailing_down_limit)
    if not (up or down):
        return state
    drop = levels[0] if up else levels[-1]
    if drop.holds:
        out.notes.append(("trailing_blocked_by_position", {"level": drop.index}))
        return state
    if settings.spacing == "geometric":
        r = levels[1].price / levels[0].price
        new_price = levels[-1].price * r if up else levels[0].price / r
    else:
        d = levels[1].price - levels[0].price
        new_price = levels[-1].price + d if up else levels[0].price - d
    new = Level(state.next_index, new_price)
    if drop.resting:
        cancel(out, drop, "trailing_shift_cancel")
    kept = (*levels[1:], new) if up else (new, *levels[:-1])
    return replace(state, levels=kept, shifts=state.shifts + 1, next_index=state.next_index + 1)


def _recenter(settings: GridSettings, state: GridState, c: GridCandle, rules: MarketRules, out: StepOut) -> GridState:
    try:
        prices = plan_ladder(settings, rules, centre=c.centre, atr=c.atr)
    except PlanRefused as e:
        out.notes.append((e.reason, dict(e.details)))
        return state
    levels = []
    for lvl, p in zip(state.levels, prices, strict=True):
        if lvl.state == ENTRY_PLACED and lvl.filled == 0 and abs(p - lvl.order_price) > EPS * p:
            side = _entry_side(settings, p, c.close)
            amount = _amount_or_note(settings, rules, p, lvl.index, out)
            if side == lvl.side and amount and not _gate_blocks(settings, side, c.adx_state):
                moved = replace(lvl, price=p, order_price=p, seq=lvl.seq + 1, amount=amount)
                place(out, moved, OrderRole.GRID_ENTRY, "grid_recenter", False, previous=lvl.order_price)
                cancel(out, lvl, "grid_recenter_cancel")
                levels.append(moved)
            else:
                cancel(out, lvl, "grid_recenter_cancel")
                levels.append(lvl.to(CANCELLED, price=p))
        else:  # filled levels keep their take-profit; idle ones just move
            levels.append(replace(lvl, price=p))
    return replace(state, levels=tuple(levels), centre=c.centre, last_recenter=c.index)


def on_candle(settings: GridSettings, state: GridState, c: GridCandle,
              rules: MarketRules) -> tuple[GridState, list[Intent]]:
    """Bounds, trailing, re-centring and the ADX gate for one closed candle, then arm whatever can be armed."""
    out = StepOut()
    if state.stopped:
        return state, []
    reason = _bounds(settings, c)
    if reason:
        state = _stop_all(state, reason, True, out)
        return out.done(state)
    if settings.mode == "fixed":
        state = _trail(settings, state, c, out)
    elif math.isfinite(c.centre) and c.index - state.last_recenter >= settings.recenter_candles:
        state = _recenter(settings, state, c, rules, out)
    if settings.adx_gate and abs(c.adx_state) >= 2:
        for i, lvl in enumerate(state.levels):
            if lvl.state == ENTRY_PLACED and lvl.filled == 0 and _gate_blocks(settings, lvl.side, c.adx_state):
                cancel(out, lvl, "adx_gate_cancel")
                state = with_level(state, i, lvl.to(CANCELLED))
    state = _arm(settings, state, rules, c.close, c.adx_state, out)
    return out.done(state)


def mark_failed(state: GridState, level: int) -> GridState:
    """The exchange refused the level's entry: back to idle to be re-armed. A refused exit is kept as desired
    (the position still needs its take-profit), so the runtime retries it."""
    i = level_pos(state, level)
    lvl = state.levels[i]
    if lvl.state == ENTRY_PLACED and lvl.filled == 0:
        return with_level(state, i, lvl.to(FAILED).to(IDLE))
    return state

__all__ += ["average_entry", "exit_price", "level_orders", "mark_failed", "on_close_fill", "position_gone"]
