"""Grid ladders: fixed arithmetic/geometric, the symmetric adaptive ladder, the seed's 20-level fixture, sizing."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from engine.strategies.grid_settings import GridSettings


class PlanRefused(ValueError):
    """The grid cannot be placed as configured; `reason` is machine-readable, `details` has the numbers."""

    def __init__(self, reason: str, **details: float):
        super().__init__(f"{reason}: {details}")
        self.reason, self.details = reason, details


@dataclass(frozen=True, slots=True)
class MarketRules:
    """The exchange's rules for the market in base units (engine/market/rules.py), as plain numbers (0 = no rule)."""

    price_step: float = 0.0
    amount_step: float = 0.0
    min_amount: float = 0.0
    min_cost: float = 0.0


def round_price(price: float, step: float) -> float:
    """Nearest multiple of the tick (half away from zero); no rounding without a tick."""
    if not step:
        return price
    return round(math.floor(price / step + 0.5) * step, 12)


def round_amount(amount: float, step: float) -> float:
    """Amounts are truncated to the lot: never more than was asked for."""
    if not step:
        return amount
    return round(math.floor(amount / step + 1e-9) * step, 12)


def adaptive_step(centre: float, atr: float) -> float:
    """The seed's steady-state spacing: 0.003·M + 0.75·max(ATR, 0.004·M)."""
    return 0.003 * centre + 0.75 * max(atr if math.isfinite(atr) else 0.0, 0.004 * centre)


def adaptive_levels(centre: float, atr: float, n_levels: int) -> tuple[float, ...]:
    """n levels symmetric around the centre: M ± k·step for k = 1..n//2 (and M itself when n is odd).

    The seed's formula centred on index 11 works only for 20 levels; this one works for any count.
    """
    step = adaptive_step(centre, atr)
    return tuple(adaptive_level(centre, step, n_levels, m) for m in range(n_levels))


def adaptive_level(centre: float, step: float, n_levels: int, m: int) -> float:
    """Level m (0 = lowest) of `adaptive_levels`, unrounded; plain arithmetic, so numba can compile it too."""
    half = n_levels // 2
    if m < half:
        return centre - (half - m) * step
    if n_levels % 2 and m == half:
        return centre
    return centre + (m - half + 1 - n_levels % 2) * step


def seed_levels_20(centre: float, atr: float) -> tuple[float, ...]:
    """The seed's 21 levels (0..20) in steady state, g_n = M - (11 - n)·step, with its gap clamps.

    Kept as a regression fixture for the original behaviour; note level 11 is M and only 9 levels lie above.
    Each level is compared with the level below as already clamped (the original clamps column by column in
    place), so once a clamp pulls a level down the ones above it are pulled too: ATR 8 gives 95, 90 … 55 above M.
    """
    step = adaptive_step(centre, atr)
    out = [centre - (11 - n) * step for n in range(21)]
    for n in range(2, 21):
        k = 11 - n
        below = out[n - 1]
        d = (out[n] - below) / below  # both clamps test this d, taken before level n's own clamp
        max_gap = min(0.05 * abs(k), 0.5)
        if abs(d) > max_gap:
            out[n] = centre * (1 - max_gap) if d > 0 else centre * (1 + max_gap)
        elif abs(d) < 0.004:
            out[n] = below * (1 + math.copysign(0.004, d))
    return tuple(round(v, 8) for v in out)


def fixed_levels(settings: GridSettings) -> tuple[float, ...]:
    """The ladder from lower_price to upper_price: the first and last levels are the bounds exactly, the others
    strictly between them (`lo·ratio**i` drifted past the top: 0.6800000000000022 for 0.68)."""
    lo, hi, n = settings.lower_price, settings.upper_price, settings.levels
    if settings.spacing == "arithmetic":
        inner = (lo + (hi - lo) * i / (n - 1) for i in range(1, n - 1))
    else:
        log_ratio = math.log(hi / lo)
        inner = (lo * math.exp(log_ratio * i / (n - 1)) for i in range(1, n - 1))
    return (lo, *(min(max(p, lo), hi) for p in inner), hi)


def _tick_inside(bound: float, step: float, up: bool) -> float:
    """The multiple of the tick nearest to `bound` on its inner side (>= a lower bound, <= an upper one), as
    `round_price` writes prices; compared as prices, so float noise in bound / step cannot pick the wrong one."""
    k = math.floor(bound / step)
    candidates = [round(c * step, 12) for c in (k - 1, k, k + 1, k + 2)]
    return min(p for p in candidates if p >= bound) if up else max(p for p in candidates if p <= bound)


def finalize(levels: tuple[float, ...], rules: MarketRules, lower: float = 0.0, upper: float = math.inf):
    """Round to the tick (a level that rounding would put past a bound goes to the tick just inside it) and
    refuse a ladder that collides or leaves its bounds once rounded."""
    step = rules.price_step
    out = [round_price(p, step) for p in levels]
    if step:
        out = [_tick_inside(lower, step, True) if p < lower else _tick_inside(upper, step, False)
               if p > upper else p for p in out]
    if any(p <= 0 for p in out):
        raise PlanRefused("level_not_positive", lowest=min(out))
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise PlanRefused("levels_collide_after_rounding", tick=step, levels=len(out))
    if out[0] < lower or out[-1] > upper:
        raise PlanRefused("level_outside_bounds", lowest=out[0], highest=out[-1], lower=lower, upper=upper)
    return tuple(out)


def plan_ladder(settings: GridSettings, rules: MarketRules, centre: float = 0.0, atr: float = math.nan):
    """The ladder to trade: fixed from the settings, adaptive around `centre` with the ATR spacing."""
    if settings.mode == "fixed":
        return finalize(fixed_levels(settings), rules, settings.lower_price, settings.upper_price)
    if not centre > 0:
        raise PlanRefused("no_centre_yet")
    return finalize(adaptive_levels(centre, atr, settings.levels), rules)


def level_amount(settings: GridSettings, rules: MarketRules, price: float) -> float:
    """Base units for one level: investment × leverage / levels at `price`, truncated to the lot (rules in base
    units: `engine.market.rules.market_rules`).

    Refused, never rounded up, when below the exchange's minimum amount or cost.
    """
    quote = settings.investment * settings.leverage / settings.levels
    amount = round_amount(quote / price, rules.amount_step)
    cost = amount * price
    if amount <= 0 or amount < rules.min_amount or cost < rules.min_cost:
        raise PlanRefused("below_minimum", amount=amount, cost=cost, min_amount=rules.min_amount,
                          min_cost=rules.min_cost, price=price)
    return amount


@dataclass(frozen=True, slots=True)
class GridPreview:
    levels: tuple[float, ...]
    amounts: tuple[float, ...]  # base units
    profit_per_grid_pct: tuple[float, float]  # (min, max) over the levels: entry → its take-profit, after fees
    profit_per_grid_quote: tuple[float, float]
    capital_needed: float  # margin if every entry fills, fees included
    loss_at_stop: float | None  # what the whole grid loses if it fills down to the stop-loss price
    fee_rate: float = 0.0  # per leg, as a fraction: the market's maker fee, or the fee_rate setting


def preview(settings: GridSettings, rules: MarketRules, price: float, atr: float = math.nan,
            maker_fee: float | None = None) -> GridPreview:
    """What the chat shows before Start; raises PlanRefused exactly when start() would.

    Profit per grid is each level's entry to the take-profit the strategy itself would place for it (its clamps
    and tick rounding: `grid.exit_price`), both legs paying `maker_fee` (resting limit orders) when the market
    publishes one, else the fee_rate setting. Long grids buy at every level, short ones sell, neutral ones buy
    at and below the price and sell above it.
    """
    from engine.strategies import grid  # grid builds on this module: imported when used

    levels = plan_ladder(settings, rules, centre=price, atr=atr)
    amounts = tuple(level_amount(settings, rules, p) for p in levels)
    f = settings.fee if maker_fee is None else maker_fee
    sides = [("buy" if settings.direction == "long" or (settings.direction == "neutral" and p <= price) else "sell")
             for p in levels]
    state = grid.GridState(levels=tuple(grid.Level(i, p, side=side) for i, (p, side) in
                                        enumerate(zip(levels, sides, strict=True))))
    pct, quote = [], []
    for i, (p, a, side) in enumerate(zip(levels, amounts, sides, strict=True)):
        tp = grid.exit_price(settings, state, i, p, rules)
        gain = tp * (1 - f) - p * (1 + f) if side == "buy" else p * (1 - f) - tp * (1 + f)
        pct.append(gain / p * 100)
        quote.append(gain * a)
    notional = sum(p * a for p, a in zip(levels, amounts, strict=True))
    loss = None
    if settings.stop_loss_price:
        sl = settings.stop_loss_price
        loss = sum(abs(p - sl) * a for p, a in zip(levels, amounts, strict=True))
    return GridPreview(levels, amounts, (min(pct), max(pct)), (min(quote), max(quote)),
                       notional / settings.leverage + notional * f, loss, f)
