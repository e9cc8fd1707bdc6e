"""The account's funds rules, one model for paper exchange and backtester: reservations, free margin, cross margin.

Pure arithmetic on amounts in BASE units (the paper exchange converts its contracts at its call sites) and on
either floats or Decimals (one kind per call: rates, prices and amounts must be of the same kind; leverage may be
an int). No I/O, no clock.

The rules, as a USDT-margined venue in one-way cross-margin mode applies them:
- An order holds funds while it rests. Spot: a buy holds its quote (notional plus the taker fee), a sell holds
  its base. Swap: initial margin = notional / leverage plus the taker fee on the notional; a reduce-only order
  holds nothing. A limit order is priced at its limit; a market order at the last price and a stop at its
  trigger, each moved up by the slippage (the larger notional).
- An order is refused with a reason key: "below_minimum" (amount or cost under the market's minimum; closing a
  whole position is never too small, as on Binance and Bybit), "invalid_order" (reduce-only with nothing to
  reduce), "insufficient_funds" (it needs more than is free).
- Swap: equity = wallet balance + unrealised PnL at mark; free margin = equity − Σ positions' initial margin
  (|amount|·mark / leverage) − what the open orders hold.
- Cross margin: the account is liquidated when its equity falls to its maintenance margin
  (Σ |amount|·mark·maintenance rate). A position's liquidation price is the mark at which that happens, the
  other positions held at their marks.
- At liquidation (checked after a candle's fills) the position is closed at its liquidation price, or at the
  candle's open when the candle opened beyond it; no fee; the exchange cancels every open order of the account;
  a loss beyond the wallet balance is the venue's (insurance fund): the balance does not go below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BELOW_MINIMUM, INVALID_ORDER, INSUFFICIENT_FUNDS = "below_minimum", "invalid_order", "insufficient_funds"


@dataclass(frozen=True, slots=True)
class Position:
    """A swap position in base units: `amount` signed (+ long, − short)."""

    amount: Any
    entry: Any
    mark: Any
    leverage: Any = 1


@dataclass(frozen=True, slots=True)
class Verdict:
    """`refusal` is None for an accepted order, which then holds `reserved` of `currency` ("quote" or "base")."""

    refusal: str | None
    reserved: Any
    currency: str = "quote"
    detail: str = ""


def reserve_price(type_: str, price, trigger, ref, slippage):
    """The price an order's reservation is computed at (see the module's rules)."""
    if type_ == "limit":
        return price
    return (trigger if type_ == "stop_market" else ref) * (1 + slippage)


def reservation(spot: bool, side: str, amount, price, leverage, taker_fee, reduce_only: bool = False) -> tuple:
    """(currency, amount) an open order holds: ("quote", x) or ("base", x)."""
    notional = amount * price
    if spot:
        return ("quote", notional + notional * taker_fee) if side == "buy" else ("base", amount)
    if reduce_only:
        return "quote", notional * 0
    return "quote", notional / leverage + notional * taker_fee


def closes_position(side: str, amount, position) -> bool:
    """Whether an order of `amount` on `side` closes all of the signed `position` (or more)."""
    return bool(position) and (position > 0) == (side == "sell") and abs(position) <= amount


def check_order(*, spot: bool, side: str, type_: str, amount, price, trigger, ref, reduce_only: bool, position,
                free_quote, free_base, leverage, taker_fee, slippage, min_amount, min_cost) -> Verdict:
    """Whether the venue accepts an order (amount already cut to the lot, price to the tick), and what it holds.

    `position`: the signed base amount held (spot: the base balance); `free_quote`: free margin (swap) or free
    quote (spot); `free_base`: free base (spot sells). `ref`: the last price (None: unknown).
    """
    zero = amount * 0
    cost = amount * (price or trigger or ref or zero)
    if reduce_only and not spot and closes_position(side, amount, position) and min_cost:
        cost = max(cost, min_cost)  # closing a whole position is never too small
    if amount <= 0 or (min_amount and amount < min_amount) or (min_cost and cost < min_cost):
        return Verdict(BELOW_MINIMUM, zero, detail=f"amount {amount} (min {min_amount}), cost {cost} (min {min_cost})")
    if reduce_only and not spot and not (position and (position > 0) == (side == "sell")):
        return Verdict(INVALID_ORDER, zero, detail="reduce-only order with no position to reduce")
    if reduce_only and not spot:
        return Verdict(None, zero)  # it can only release margin: accepted even when the account is under water
    currency, need = reservation(spot, side, amount, reserve_price(type_, price, trigger, ref, slippage), leverage,
                                 taker_fee)
    free = free_base if currency == "base" else free_quote
    if need > free:
        return Verdict(INSUFFICIENT_FUNDS, zero, currency, f"needs {need} of {currency}, {free} free")
    return Verdict(None, need, currency)


# ---- swap account ----
def unrealised(positions) -> Any:
    return sum((p.amount * (p.mark - p.entry) for p in positions), 0)


def equity(wallet, positions) -> Any:
    """Wallet balance (realised PnL and fees already in it) plus unrealised PnL at mark."""
    return wallet + unrealised(positions)


def initial_margin(positions) -> Any:
    return sum((abs(p.amount) * p.mark / p.leverage for p in positions), 0)


def maintenance_margin(positions, rate) -> Any:
    return sum((abs(p.amount) * p.mark * rate for p in positions), 0)


def free_margin(wallet, positions, reserved) -> Any:
    """What a new order can use: equity − positions' initial margin − what the open orders hold."""
    return equity(wallet, positions) - initial_margin(positions) - reserved


def liquidation_price(wallet, position: Position, others, rate):
    """The mark of `position` at which the account's equity meets its maintenance margin (cross margin), the
    `others` held at their marks; None when flat or when no positive price liquidates it (a long at 1x)."""
    a = position.amount
    if not a:
        return None
    rest = equity(wallet, others) - maintenance_margin(others, rate)
    # rest + a·(p − entry) = |a|·p·rate
    p = (a * position.entry - rest) / (a - abs(a) * rate)
    return p if p > 0 else None


def liquidation_fill(amount, liq, o, h, low):
    """The price a position of signed `amount` is liquidated at on a candle (None if the candle never reaches
    `liq`): the liquidation price, or the open when the candle opened beyond it."""
    if liq is None or not amount:
        return None
    if amount > 0:
        return (o if o <= liq else liq) if low <= liq else None
    return (o if o >= liq else liq) if h >= liq else None


def after_liquidation(wallet):
    """The wallet balance once a liquidation's loss is booked: never below zero (the venue takes the rest)."""
    return wallet if wallet > 0 else wallet * 0
