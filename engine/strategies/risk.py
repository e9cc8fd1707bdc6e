"""Risk before Start, pure: HYPERRSI's entry and adds, GRID's levels, the worst case with all of them filled, an
isolated-margin liquidation estimate, where the fall ends (stop or liquidation), its loss and the fees.

The sizes are the strategies' own (`hyperrsi.order_amount`, `grid_ladder.preview`), truncated to the lot as the
runtime sends them, and HYPERRSI's average and stop come from feeding the fills to `hyperrsi.on_fill`.

The liquidation model is an estimate on ISOLATED margin: the position's own margin (notional / leverage) is all it
can lose, and it is liquidated when what is left meets the maintenance margin (`maintenance` × notional at that
price). It equals `engine.exchange.margin.liquidation_price` for a wallet holding just that margin; a cross-margin
account with more in it is liquidated further away, so the estimate errs on the safe side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.strategies import hyperrsi
from engine.strategies.grid_ladder import GridPreview, MarketRules, preview, round_amount
from engine.strategies.grid_settings import GridSettings
from engine.strategies.hyperrsi import FillEvent, HyperRsiSettings, HyperRsiState, dca_levels, order_amount
from engine.strategies.hyperrsi_orders import order_side, sign
from engine.strategies.roles import OrderRole


def liquidation_price(side: str, average: float, leverage: float, maintenance: float) -> float | None:
    """Where an isolated position of `side` opened at `average` with margin notional / `leverage` is liquidated:
    long average·(1 − 1/leverage)/(1 − maintenance), short average·(1 + 1/leverage)/(1 + maintenance).
    None when no positive price liquidates it (a long at 1×)."""
    s = sign(side)
    p = average * (1 - s / leverage) / (1 - s * maintenance)
    return p if p > 0 else None


def beyond(side: str, price: float, limit: float) -> bool:
    """Whether `price` lies at or past `limit` for a position of `side`: a falling long (a rising short) reaches
    `limit` first."""
    return (price - limit) * sign(side) <= 0


@dataclass(frozen=True, slots=True)
class Order:
    """One market order of a HYPERRSI position: its price, base units to the lot, and whether the exchange's
    minimum refuses it (then the strategy never sends it)."""

    price: float
    amount: float
    below_minimum: bool = False

    @property
    def notional(self) -> float:
        return self.amount * self.price


@dataclass(frozen=True, slots=True)
class Stage:
    """The position after its entry and `adds` adds, as the strategy books it."""

    adds: int
    size: float
    average: float
    notional: float
    fees: float  # taker fees paid on the way in
    stop: float | None  # the strategy's stop at this stage (None: none placed yet, or no stop-loss)
    liquidation: float | None


@dataclass(frozen=True, slots=True)
class SideRisk:
    """One side of a HYPERRSI bot: its orders, the worst case with every add filled, and how a fall ends."""

    side: str
    entry: Order
    adds: tuple[Order, ...]  # the adds the strategy would send (a refused one ends the list, flagged)
    stages: tuple[Stage, ...]  # after the entry, then after each add that fills
    ends_by: str  # "stop", "liquidation", or "" (neither: a long at 1× without a stop)
    ends_at: Stage | None  # the stage at which the fall ends
    exit_price: float | None
    loss: float | None  # at the exit: price move on the whole position, taker fees in and out
    warning: str  # "", "no_stop", "stop_beyond_liquidation", "liquidated_before_stop"

    @property
    def worst(self) -> Stage:
        """Every add filled (as far as the exchange's minimum lets them)."""
        return self.stages[-1]

    def margin(self, leverage: float) -> float:
        return self.worst.notional / leverage


@dataclass(frozen=True, slots=True)
class HyperRsiRisk:
    price: float
    leverage: int
    taker_fee: float
    maker_fee: float
    maintenance: float
    sides: tuple[SideRisk, ...]
    atr_missing: bool  # an ATR-based stop or add spacing priced without an ATR (the strategy's own fallbacks)

    def entry_fees(self, side: SideRisk) -> tuple[float, float, float]:
        """Fees on the first entry's notional: in (a market order, taker), out at a take-profit (a limit order,
        maker), out at the stop (a stop-market order, taker)."""
        n = side.entry.notional
        return n * self.taker_fee, n * self.maker_fee, n * self.taker_fee


def _order(settings: HyperRsiSettings, n: int, price: float, rules: MarketRules) -> Order:
    amount = round_amount(order_amount(settings, n, price), rules.amount_step)
    low = amount <= 0 or amount < rules.min_amount or amount * price < rules.min_cost
    return Order(price, amount, low)


def _stage(state: HyperRsiState, leverage: int, maintenance: float) -> Stage:
    return Stage(state.pyramid_count, state.size, state.average, state.entries_notional, state.fees, state.stop,
                 liquidation_price(state.side, state.average, leverage, maintenance))


def _next_level(settings: HyperRsiSettings, state: HyperRsiState) -> float:
    ref = state.average if settings.entry_criterion == "average" else state.last_fill  # as add_blocker takes it
    return dca_levels(settings, state.side, ref, state.atr, 1)[0]


def _hyperrsi_side(settings: HyperRsiSettings, side: str, price: float, rules: MarketRules, atr: float,
                   taker: float, maintenance: float) -> SideRisk:
    entry = _order(settings, 0, price, rules)
    if entry.below_minimum:
        return SideRisk(side, entry, (), (), "", None, None, None, "")
    state = HyperRsiState(side=side, pending="entry", atr=atr, lot=rules.amount_step)
    fill = FillEvent(OrderRole.ENTRY, price, entry.amount, entry.notional * taker, side=order_side(side, True))
    state = hyperrsi.on_fill(settings, state, fill).state
    stages, adds = [_stage(state, settings.leverage, maintenance)], []
    limit = settings.pyramiding_limit if settings.pyramiding_enabled else 0
    for n in range(1, limit + 1):
        level = _next_level(settings, state)
        if level <= 0:
            break
        add = _order(settings, n, level, rules)
        adds.append(add)
        if add.below_minimum:
            break
        fill = FillEvent(OrderRole.PYRAMID, level, add.amount, add.notional * taker, side=order_side(side, True))
        state = hyperrsi.on_fill(settings, state, fill).state
        stages.append(_stage(state, settings.leverage, maintenance))
    return _fall(settings, side, entry, tuple(adds), tuple(stages), taker)


def _fall(settings: HyperRsiSettings, side: str, entry: Order, adds: tuple[Order, ...], stages: tuple[Stage, ...],
          taker: float) -> SideRisk:
    """Walk the price against the position: at each stage the nearest of the stop, the liquidation and the next
    add happens first; an add moves on to the next stage, the others end the fall."""
    s = sign(side)
    for k, st in enumerate(stages):
        # liquidation first: it wins a tie with the stop (max keeps the first of equals)
        exits = [(p, how) for p, how in ((st.liquidation, "liquidation"), (st.stop, "stop")) if p is not None]
        first = max(exits, key=lambda e: e[0] * s) if exits else None  # the nearest: highest for a long
        if k + 1 < len(stages) and (first is None or (adds[k].price - first[0]) * s > 0):
            continue  # the next add fills before either exit
        if first is None:
            return SideRisk(side, entry, adds, stages, "", st, None, None, "no_stop")
        price, how = first
        warning = ""
        if how == "liquidation":
            warning = ("stop_beyond_liquidation" if st.stop is not None else
                       "liquidated_before_stop" if settings.use_sl else "no_stop")
        loss = st.size * (st.average - price) * s + st.fees + (st.size * price * taker if how == "stop" else 0.0)
        return SideRisk(side, entry, adds, stages, how, st, price, loss, warning)
    raise AssertionError("a position has at least its entry stage")


def hyperrsi_risk(settings: HyperRsiSettings, rules: MarketRules, price: float, *, atr: float = math.nan,
                  taker_fee: float, maker_fee: float, maintenance: float) -> HyperRsiRisk:
    """The risk of each side the bot trades, entered at `price` (the first entry is a market order at the close)."""
    sides = ("long", "short") if settings.direction == "both" else (settings.direction,)
    uses_atr = settings.pyramiding_entry_type == "atr" or (settings.use_sl and settings.sl_option == "atr")
    return HyperRsiRisk(price, settings.leverage, taker_fee, maker_fee, maintenance,
                        tuple(_hyperrsi_side(settings, side, price, rules, atr, taker_fee, maintenance)
                              for side in sides), uses_atr and not math.isfinite(atr))


@dataclass(frozen=True, slots=True)
class Exposure:
    """A grid's position when every level of one side has filled."""

    side: str
    size: float
    average: float
    notional: float
    liquidation: float | None


@dataclass(frozen=True, slots=True)
class GridRisk:
    preview: GridPreview
    value_per_level: tuple[float, float]  # (min, max) notional of a level's order, quote
    exposures: tuple[Exposure, ...]  # long (every buy level filled), short (every sell level), where any
    entry_fees: float  # every level's entry at the maker fee
    stop_fee: float  # closing every level's amount at the stop at the taker fee (0 without a stop)
    loss_at_stop: float | None  # the preview's loss plus both fees
    stop_beyond_liquidation: bool
    taker_fee: float


def grid_risk(settings: GridSettings, rules: MarketRules, price: float, atr: float = math.nan, *,
              maker_fee: float | None, taker_fee: float | None, maintenance: float, swap: bool) -> GridRisk:
    """`grid_ladder.preview` (raises PlanRefused as start() would) with the liquidation of each side's levels all
    filled at the leverage (none on spot) and the fees; a stop past the liquidation of its side is flagged."""
    p = preview(settings, rules, price, atr, maker_fee=maker_fee)
    taker = settings.fee if taker_fee is None else taker_fee
    # the preview's sides: long grids buy at every level, short ones sell, neutral ones buy at and below the price
    buys = [settings.direction == "long" or (settings.direction == "neutral" and lvl <= price) for lvl in p.levels]
    exposures = []
    for side, wanted in (("long", True), ("short", False)):
        legs = [(lvl, a) for lvl, a, b in zip(p.levels, p.amounts, buys, strict=True) if b == wanted]
        if not legs:
            continue
        size = sum(a for _, a in legs)
        notional = sum(lvl * a for lvl, a in legs)
        liq = liquidation_price(side, notional / size, settings.leverage, maintenance) if swap else None
        exposures.append(Exposure(side, size, notional / size, notional, liq))
    values = [lvl * a for lvl, a in zip(p.levels, p.amounts, strict=True)]
    entry_fees = sum(values) * p.fee_rate
    sl = settings.stop_loss_price
    stop_fee = sum(p.amounts) * sl * taker if sl else 0.0
    loss = None if p.loss_at_stop is None else p.loss_at_stop + entry_fees + stop_fee
    losing = "short" if settings.direction == "short" else "long"  # the side the stop closes
    flagged = bool(sl) and any(e.side == losing and e.liquidation is not None and beyond(losing, sl, e.liquidation)
                               for e in exposures)
    return GridRisk(p, (min(values), max(values)), tuple(exposures), entry_fees, stop_fee, loss, flagged, taker)
