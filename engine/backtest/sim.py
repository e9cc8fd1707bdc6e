"""The simulated account and order book of a backtest, matched with the paper exchange's candle rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.backtest.records import LIQUIDATION, BookOrder, Execution, FillRecord, OrderRecord, Refusal
from engine.exchange import margin as mg
from engine.exchange.paper import MAINTENANCE as PAPER_MAINTENANCE
from engine.exchange.paper_matching import SimOrder, match
from engine.strategies.grid_ladder import MarketRules, round_amount, round_price

EPS = 1e-12
MAX_REFUSALS = 1_000  # refusals kept one by one (a starved grid is refused again at every sync); all are counted
FUNDS_TOLERANCE = 1e-9  # relative: float sums of what orders hold may overshoot the exact (Decimal) ones
MAINTENANCE = float(PAPER_MAINTENANCE)
# the records, imported from here
__all__ = ["LIQUIDATION", "BookOrder", "Execution", "FillRecord", "OrderRecord", "Refusal", "Sim"]


def _reachable(so: SimOrder, h: float, lo: float) -> bool:
    """Whether the candle can fill the order at all (the others are left out of matching, which is the same)."""
    if so.type == "market":
        return True
    p = so.price if so.type == "limit" else so.trigger
    return (p >= lo) if (so.side == "buy") == (so.type == "limit") else (p <= h)


@dataclass(slots=True)
class Sim:
    """Cash-flow ledger (cash = initial − Σ signed notional − Σ fees; equity = cash + position × mark) and a book.

    Amounts are in base units (`rules` are base-unit rules). Funds follow `engine.exchange.margin`, as on the
    paper exchange: every order placed holds its reservation while it rests and is refused (recorded in
    `.refusals` with the paper exchange's reason key) when it is below the minimums, reduce-only with nothing to
    reduce, or needs more than is free; a swap account is cross margin and liquidated from its equity. Spot
    cannot go short: sells beyond the base held are cut to it. Swap reduce-only orders are cut to the position
    and dropped when there is nothing to reduce, as the paper exchange does.
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
    refusals: list[Refusal] = field(default_factory=list)  # the first MAX_REFUSALS
    refused: dict[str, dict] = field(default_factory=dict)  # per reason: orders, first_ts, last_ts, roles
    last_refusal: Refusal | None = None
    book: dict[str, tuple[BookOrder, SimOrder]] = field(default_factory=dict)
    keys: dict[Any, str] = field(default_factory=dict)
    held: dict[str, float] = field(default_factory=dict)  # per order id, what it holds (quote, or base: spot sell)
    held_quote: float = 0.0
    held_base: float = 0.0
    dropped: list[BookOrder] = field(default_factory=list)  # orders cancelled for having nothing to reduce
    unfunded: tuple[float, float] = (np.inf, -np.inf)  # marks at which a refused order would have the funds
    starved: bool = False  # refused for funds since the last candle was matched
    seq: int = 0

    def __post_init__(self) -> None:
        self.cash = self.initial

    # ---- ledger ----
    def equity_at(self, price: float) -> float:
        return self.cash + self.position * price

    def wallet(self) -> float:
        """The paper exchange's wallet balance (realised PnL and fees in it, no unrealised PnL)."""
        return self.cash + self.position * self.entry

    def _apply(self, side: str, amount: float, price: float, fee: float) -> None:
        d = amount if side == "buy" else -amount
        self.cash -= d * price + fee
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
        pnl = (price - self.entry) * closed * (1 if pos > 0 else -1) - fee * closed / amount - share
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

    def _cut(self, w: BookOrder, amount: float) -> float:
        """The amount that can really execute (reduce-only against the position, spot sells against the base)."""
        if self.market == "spot" and w.side == "sell":
            return min(amount, max(self.position, 0.0))
        if w.reduce_only:
            closing = (self.position > 0 and w.side == "sell") or (self.position < 0 and w.side == "buy")
            return min(amount, abs(self.position)) if closing else 0.0
        return amount

    # ---- funds ----
    def _mark(self, ts: int) -> float:
        """The last price when handling the candle opened at `ts` (its close), as the paper exchange's."""
        j = min(int(np.searchsorted(self.ts, ts)), len(self.close) - 1)
        return float(self.close[j])

    def _mpos(self, mark: float) -> list[mg.Position]:
        return [mg.Position(self.position, self.entry, mark, self.leverage)] if self.position else []

    def free(self, mark: float) -> tuple[float, float]:
        """(free quote or margin, free base) at `mark`, as the paper exchange computes them."""
        if self.market == "spot":
            return self.cash - self.held_quote, self.position - self.held_base
        return mg.free_margin(self.wallet(), self._mpos(mark), self.held_quote), 0.0

    def verdict(self, side: str, type_: str, price: float | None, amount: float, reduce_only: bool,
                mark: float, ref: float | None = None) -> mg.Verdict:
        """The margin model's verdict on an order (amount and price already rounded) at the last price `mark`."""
        r = self.rules
        fq, fb = self.free(mark)
        return mg.check_order(
            spot=self.market == "spot", side=side, type_=type_, amount=amount,
            price=price if type_ == "limit" else None, trigger=price if type_ == "stop_market" else None,
            ref=ref if ref is not None else mark, reduce_only=reduce_only, position=self.position,
            free_quote=fq + FUNDS_TOLERANCE * (1.0 + abs(fq)), free_base=fb + FUNDS_TOLERANCE * (EPS + abs(fb)),
            leverage=self.leverage, taker_fee=self.taker_fee, slippage=self.slippage,
            min_amount=r.min_amount, min_cost=r.min_cost)

    def can_open(self, side: str, amount: float, price: float) -> bool:
        """Whether an opening market order of `amount` at about `price` has the funds behind it."""
        v = self.verdict(side, "market", None, round_amount(amount, self.rules.amount_step), False, price, price)
        return v.refusal != mg.INSUFFICIENT_FUNDS

    def tight(self, mark: float) -> bool:
        """Whether re-placing the resting orders at other prices on a later candle could be refused: funds were
        short while handling the last candle, or less is free than the orders hold (then the mark at which that
        happens is in `unfunded`, so the drivers visit it)."""
        if self.starved:
            return True
        short = self.free(mark)[0] < self.held_quote
        if not short:
            self._note_unfunded(self.held_quote, falling=True)
        return short

    def _note_unfunded(self, need: float, falling: bool = False) -> None:
        """Remember the mark at which free margin reaches `need` (swap: it moves with the mark) — from below (a
        refused order could be placed again) or, `falling`, from above — so the drivers visit that candle."""
        if self.market == "spot" or not self.position:
            return
        k = self.position - abs(self.position) / self.leverage  # d(free margin)/d(mark)
        if k == 0:
            return
        p = (need - (self.cash - self.held_quote)) / k
        up, dn = self.unfunded
        self.unfunded = (min(up, p), dn) if (k > 0) != falling else (up, max(dn, p))

    # ---- book ----
    def _round(self, w: BookOrder) -> tuple[float | None, float]:
        price = round_price(w.price, self.rules.price_step) if w.price is not None else None
        return price, round_amount(w.amount, self.rules.amount_step)

    def place(self, w: BookOrder, ts: int, ref: float | None = None) -> bool:
        """Put an order on the book unless the paper exchange would refuse it (`margin.check_order`, at the close
        of the candle opened at `ts`; a market order priced at `ref`); a refusal is added to `.refusals`."""
        price, amount = self._round(w)
        mark = self._mark(ts)
        v = self.verdict(w.side, w.type, price, amount, w.reduce_only, mark, ref)
        if v.refusal is not None:
            self._refuse(Refusal(ts, v.refusal, str(w.role), w.side, w.type, price, amount, w.level))
            self.starved |= v.refusal == mg.INSUFFICIENT_FUNDS
            if v.refusal == mg.INSUFFICIENT_FUNDS and w.type != "market":
                at = mg.reserve_price(w.type, price, price, mark, self.slippage)
                _, need = mg.reservation(self.market == "spot", w.side, amount, at, self.leverage, self.taker_fee)
                self._note_unfunded(need * (1 - 2 * FUNDS_TOLERANCE) - FUNDS_TOLERANCE)
            return False
        self.seq += 1
        oid = str(self.seq)
        so = SimOrder(oid, w.side, w.type, amount, price if w.type == "limit" else None,
                      price if w.type == "stop_market" else None, self.seq)
        self.book[oid] = (w, so)
        self.keys[w.key] = oid
        self._hold(oid, v.reserved if v.currency == "quote" else -v.reserved)
        self.orders.append(OrderRecord(ts, str(w.role), w.side, w.type, price, amount, w.reason,
                                       w.level))
        return True

    def _refuse(self, r: Refusal) -> None:
        self.last_refusal = r
        if len(self.refusals) < MAX_REFUSALS:
            self.refusals.append(r)
        n = self.refused.get(r.reason)
        if n is None:
            self.refused[r.reason] = {"orders": 1, "first_ts": r.ts, "last_ts": r.ts, "roles": [r.role]}
            return
        n["orders"] += 1
        n["last_ts"] = r.ts
        if r.role not in n["roles"]:
            n["roles"] = sorted([*n["roles"], r.role])

    def _hold(self, oid: str, signed: float) -> None:
        """Book what an order holds: + quote, − base (a spot sell)."""
        if signed:
            self.held[oid] = signed
            if signed > 0:
                self.held_quote += signed
            else:
                self.held_base -= signed

    def _release(self, oid: str) -> None:
        signed = self.held.pop(oid, 0.0)
        if signed > 0:
            self.held_quote -= signed
        elif signed < 0:
            self.held_base += signed
        if not self.held:
            self.held_quote = self.held_base = 0.0  # no float crumbs once nothing is held

    def cancel(self, key: Any) -> None:
        oid = self.keys.pop(key, None)
        if oid is not None:
            self.book.pop(oid, None)
            self._release(oid)

    def sync(self, wants: list[BookOrder], ts: int, keep: Any = None) -> None:
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

    def resting(self) -> dict[Any, BookOrder]:
        return {w.key: w for w, so in self.book.values() if so.type != "market"}

    def has_market(self) -> bool:
        return any(w.type == "market" for w, _ in self.book.values())

    def thresholds(self) -> tuple[float, float]:
        """(up, down): the candle reaches a resting order, the liquidation price, or a mark at which a refused
        order would have the funds, iff high ≥ up or low ≤ down."""
        up, dn = self.unfunded
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
        """Cross margin (`margin.liquidation_price`): where the account's equity meets its maintenance margin."""
        if self.market != "swap" or self.position == 0:
            return None
        return mg.liquidation_price(self.wallet(), mg.Position(self.position, self.entry, 0.0, self.leverage), (),
                                    MAINTENANCE)

    def _liquidate(self, j: int) -> Execution | None:
        """After the candle's fills, as the paper exchange does (`margin`'s rules): close everything at the
        liquidation price (the open if the candle opened beyond it), no fee, every resting order cancelled, the
        balance not below zero."""
        o, h, lo = float(self.open[j]), float(self.high[j]), float(self.low[j])
        price = mg.liquidation_fill(self.position, self.liquidation_price(), o, h, lo)
        if price is None:
            return None
        side = "sell" if self.position > 0 else "buy"
        amount = abs(self.position)
        self._apply(side, amount, price, 0.0)
        self.cash = mg.after_liquidation(self.cash)
        self.book.clear()
        self.keys.clear()
        self.held.clear()
        self.held_quote = self.held_base = 0.0
        w = BookOrder((LIQUIDATION,), side, "market", None, amount, True, LIQUIDATION, "liquidation")
        self.fills.append(FillRecord(int(self.ts[j]), side, price, amount, 0.0, "liquidation", LIQUIDATION, None,
                                     "market", None, True))
        return Execution(w, price, amount, 0.0)

    def match(self, j: int) -> list[Execution]:
        """Fill what candle j reaches (all of it, like the paper exchange's feed), in path order."""
        self.unfunded, self.starved = (np.inf, -np.inf), False  # the strategy retries what it had refused
        if not self.book:
            liq = self._liquidate(j)
            return [liq] if liq else []
        o, h, lo, c = float(self.open[j]), float(self.high[j]), float(self.low[j]), float(self.close[j])
        sims = [so for _, so in self.book.values() if _reachable(so, h, lo)]
        out = []
        fills = match(sims, o, h, lo, c, self.slippage)
        for f in fills:
            w, so = self.book.pop(f.order_id)
            self._release(f.order_id)
            if self.keys.get(w.key) == f.order_id:
                del self.keys[w.key]
            amount = self._cut(w, so.amount)
            if amount <= 0:
                self.dropped.append(w)
                continue
            fee = f.price * amount * (self.taker_fee if f.taker else self.maker_fee)
            self._apply(w.side, amount, f.price, fee)
            self.fills.append(FillRecord(int(self.ts[j]), w.side, float(f.price), amount, fee, w.reason,
                                         str(w.role), w.level, so.type,
                                         so.price if so.type == "limit" else so.trigger, f.taker))
            out.append(Execution(w, float(f.price), amount, fee))
        liq = self._liquidate(j)
        return [*out, liq] if liq else out

    def notes(self) -> list[tuple[str, dict]]:
        """What the output should say about refusals and liquidations: one note per reason."""
        out = [(f"refused_{reason}", dict(n)) for reason, n in self.refused.items()]
        liqs = [f for f in self.fills if f.reason == "liquidation"]
        if liqs:
            out.append(("liquidation", {"count": len(liqs), "ts": [f.ts for f in liqs],
                                        "prices": [f.price for f in liqs]}))
        return out
