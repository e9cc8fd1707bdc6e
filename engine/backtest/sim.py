"""The simulated account and order book of a backtest, matched with the paper exchange's candle rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.exchange.paper import MAINTENANCE as PAPER_MAINTENANCE
from engine.exchange.paper_matching import SimOrder, match
from engine.strategies.grid_ladder import MarketRules, round_amount, round_price

EPS = 1e-12
MAINTENANCE = float(PAPER_MAINTENANCE)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order the strategy had placed: `ts` is the open time of the candle after (or in) which it was sent."""

    ts: int
    role: str
    side: str
    type: str  # "market", "limit", "stop_market"
    price: float | None
    amount: float
    reason: str
    level: int | None = None


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution; `ts` is the open time of the candle in which it filled."""

    ts: int
    side: str
    price: float
    amount: float
    fee: float
    reason: str
    role: str = ""
    level: int | None = None
    type: str = ""  # the order's type
    order_price: float | None = None  # its limit price or stop trigger
    taker: bool = True


@dataclass(frozen=True, slots=True)
class Want:
    """An order a strategy wants on the book, under a key that names it (e.g. ("tp", 1), (level, role, seq))."""

    key: Any
    side: str
    type: str
    price: float | None
    amount: float
    reduce_only: bool
    role: str
    reason: str
    level: int | None = None
    meta: Any = None


@dataclass(slots=True)
class Execution:
    want: Want
    price: float
    amount: float
    fee: float


def _reachable(so: SimOrder, h: float, lo: float) -> bool:
    """Whether the candle can fill the order at all (the others are left out of matching, which is the same)."""
    if so.type == "market":
        return True
    p = so.price if so.type == "limit" else so.trigger
    return (p >= lo) if (so.side == "buy") == (so.type == "limit") else (p <= h)


@dataclass(slots=True)
class Sim:
    """Cash-flow ledger (cash = initial − Σ signed notional − Σ fees; equity = cash + position × mark) and a book.

    Spot cannot go short: sells beyond the base held are cut to it. Swap reduce-only orders are cut to the
    position and dropped when there is nothing to reduce, as the paper exchange does. Opening market orders
    are refused when the margin (swap) or the quote (spot) is not there.
    """

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    ts: np.ndarray
    market: str  # "spot" or "swap"
    initial: float
    maker_fee: float
    taker_fee: float
    slippage: float
    rules: MarketRules
    leverage: float = 1.0
    round_trips: bool = True  # a trade is a whole round trip (else the driver books trades itself)
    cash: float = 0.0
    position: float = 0.0
    entry: float = 0.0
    fees: float = 0.0
    open_fees: float = 0.0
    trip_pnl: float = 0.0
    trades: list[float] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    book: dict[str, tuple[Want, SimOrder]] = field(default_factory=dict)
    keys: dict[Any, str] = field(default_factory=dict)
    dropped: list[Want] = field(default_factory=list)  # orders cancelled for having nothing to reduce
    seq: int = 0

    def __post_init__(self) -> None:
        self.cash = self.initial

    # ---- ledger ----
    def equity_at(self, price: float) -> float:
        return self.cash + self.position * self.rules.contract_size * price

    def _apply(self, side: str, amount: float, price: float, fee: float) -> None:
        cs = self.rules.contract_size
        d = amount if side == "buy" else -amount
        self.cash -= d * price * cs + fee
        self.fees += fee
        pos = self.position
        if pos == 0 or (pos > 0) == (d > 0):
            total = abs(pos) + amount
            self.entry = (self.entry * abs(pos) + price * amount) / total
            self.open_fees += fee
            self.position = pos + d
            return
        closed = min(amount, abs(pos))
        share = self.open_fees * closed / abs(pos)
        pnl = (price - self.entry) * closed * cs * (1 if pos > 0 else -1) - fee * closed / amount - share
        self.open_fees -= share
        self.position = pos + d
        if abs(self.position) <= EPS * max(1.0, abs(pos)):
            self.position = 0.0
        if self.round_trips:
            self.trip_pnl += pnl
            if self.position == 0 or (self.position > 0) != (pos > 0):
                self.trades.append(self.trip_pnl)
                self.trip_pnl = 0.0
        if self.position == 0:
            self.entry, self.open_fees = 0.0, 0.0
        elif (self.position > 0) != (pos > 0):  # flipped: the rest opened at this price
            self.entry, self.open_fees = price, fee * (amount - closed) / amount

    def _cut(self, w: Want, amount: float) -> float:
        """The amount that can really execute (reduce-only against the position, spot sells against the base)."""
        if self.market == "spot" and w.side == "sell":
            return min(amount, max(self.position, 0.0))
        if w.reduce_only:
            closing = (self.position > 0 and w.side == "sell") or (self.position < 0 and w.side == "buy")
            return min(amount, abs(self.position)) if closing else 0.0
        return amount

    def can_open(self, side: str, amount: float, price: float) -> bool:
        """Whether an opening market order of `amount` at about `price` has the funds behind it."""
        cs = self.rules.contract_size
        worst = price * (1 + self.slippage) * (1 + self.taker_fee)
        if self.market == "spot":
            return side == "buy" and amount * worst * cs <= self.cash + EPS
        used = abs(self.position) * self.entry * cs / self.leverage
        return amount * cs * worst / self.leverage <= self.equity_at(price) - used + EPS

    # ---- book ----
    def _round(self, w: Want) -> tuple[float | None, float]:
        price = round_price(w.price, self.rules.price_step) if w.price is not None else None
        return price, round_amount(w.amount, self.rules.amount_step)

    def place(self, w: Want, ts: int, ref: float | None = None) -> bool:
        """Put an order on the book, refused as the paper exchange refuses it: nothing left after rounding the
        amount down to the lot, below the minimum amount or cost (priced at its price, else at `ref`), or
        reduce-only with nothing to reduce."""
        price, amount = self._round(w)
        r = self.rules
        cost = amount * (price or ref or 0.0) * r.contract_size
        if w.reduce_only and self.market == "swap" and self.position and amount >= abs(self.position) - EPS:
            cost = max(cost, r.min_cost)  # as the paper exchange: closing a whole position is never too small
        if amount <= 0 or (r.min_amount and amount < r.min_amount) or (r.min_cost and cost < r.min_cost):
            return False
        if w.reduce_only and self.market == "swap" and self._cut(w, amount) <= 0:
            return False
        self.seq += 1
        oid = str(self.seq)
        so = SimOrder(oid, w.side, w.type, amount, price if w.type == "limit" else None,
                      price if w.type == "stop_market" else None, self.seq)
        self.book[oid] = (w, so)
        self.keys[w.key] = oid
        self.orders.append(OrderRecord(ts, w.role, w.side, w.type, price, amount, w.reason, w.level))
        return True

    def cancel(self, key: Any) -> None:
        oid = self.keys.pop(key, None)
        if oid is not None:
            self.book.pop(oid, None)

    def sync(self, wants: list[Want], ts: int, keep: Any = None) -> None:
        """Make the resting part of the book equal to `wants` (market orders, and keys for which `keep(key)` is
        true, are left alone); an unchanged order stays, a changed one is replaced."""
        new = {w.key: w for w in wants}
        for key, oid in list(self.keys.items()):
            w = self.book[oid][0]
            if w.type == "market" or (keep is not None and keep(key)):
                continue
            if new.get(key) != w:
                self.cancel(key)
        for w in wants:
            if w.key not in self.keys:
                self.place(w, ts)

    def resting(self) -> dict[Any, Want]:
        return {w.key: w for w, so in self.book.values() if so.type != "market"}

    def has_market(self) -> bool:
        return any(w.type == "market" for w, _ in self.book.values())

    def thresholds(self) -> tuple[float, float]:
        """(up, down): the candle reaches a resting order iff high ≥ up or low ≤ down."""
        up, dn = np.inf, -np.inf
        for w, so in self.book.values():
            if so.type == "market":
                continue
            p = so.price if so.type == "limit" else so.trigger
            rising = (w.side == "sell") == (so.type == "limit")
            if rising:
                up = min(up, p)
            else:
                dn = max(dn, p)
        liq = self.liquidation_price()
        if liq is not None:
            up, dn = (up, max(dn, liq)) if self.position > 0 else (min(up, liq), dn)
        return up, dn

    def liquidation_price(self) -> float | None:
        """The paper exchange's isolated-style level: entry·(1 ∓ 1/leverage ± maintenance); swap only."""
        if self.market != "swap" or self.position == 0:
            return None
        if self.position > 0:
            return self.entry * (1 - 1 / self.leverage + MAINTENANCE)
        return self.entry * (1 + 1 / self.leverage - MAINTENANCE)

    def _liquidate(self, j: int) -> Execution | None:
        """After the candle's fills, as the paper exchange does: close everything at the liquidation price (kept
        inside the candle), no fee, and the exchange cancels every resting order."""
        liq = self.liquidation_price()
        h, lo = float(self.high[j]), float(self.low[j])
        if liq is None or not ((self.position > 0 and lo <= liq) or (self.position < 0 and h >= liq)):
            return None
        side = "sell" if self.position > 0 else "buy"
        amount, price = abs(self.position), min(max(liq, lo), h)
        self._apply(side, amount, price, 0.0)
        self.book.clear()
        self.keys.clear()
        w = Want(("liquidation",), side, "market", None, amount, True, "liquidation", "liquidation")
        self.fills.append(FillRecord(int(self.ts[j]), side, price, amount, 0.0, "liquidation", "liquidation", None,
                                     "market", None, True))
        return Execution(w, price, amount, 0.0)

    def match(self, j: int) -> list[Execution]:
        """Fill what candle j reaches (all of it, like the paper exchange's feed), in path order."""
        if not self.book:
            liq = self._liquidate(j)
            return [liq] if liq else []
        o, h, lo, c = float(self.open[j]), float(self.high[j]), float(self.low[j]), float(self.close[j])
        sims = [so for _, so in self.book.values() if _reachable(so, h, lo)]
        out = []
        fills = match(sims, o, h, lo, c, self.slippage)
        for f in fills:
            w, so = self.book.pop(f.order_id)
            if self.keys.get(w.key) == f.order_id:
                del self.keys[w.key]
            amount = self._cut(w, so.amount)
            if amount <= 0:
                self.dropped.append(w)
                continue
            fee = f.price * amount * self.rules.contract_size * (self.taker_fee if f.taker else self.maker_fee)
            self._apply(w.side, amount, f.price, fee)
            self.fills.append(FillRecord(int(self.ts[j]), w.side, float(f.price), amount, fee, w.reason, w.role,
                                         w.level, so.type, so.price if so.type == "limit" else so.trigger,
                                         f.taker))
            out.append(Execution(w, float(f.price), amount, fee))
        liq = self._liquidate(j)
        return [*out, liq] if liq else out
