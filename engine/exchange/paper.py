"""A simulated exchange behind the same protocol as the live one: balances, orders, fills, swap positions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from engine.exchange import margin as mg
from engine.exchange.paper_batch import create_on_venues, feed_venues
from engine.exchange.paper_markets import DEFAULT_MARKETS, MAINTENANCE, MAKER_FEE, SLIPPAGE, TAKER_FEE
from engine.exchange.paper_matching import SimOrder, match
from engine.exchange.paper_persist import HISTORY, Persisted, VenueLock, changing, reading
from engine.exchange.paper_state import PaperOrder, PaperPosition
from engine.exchange.protocol import (
    Balance,
    BelowMinimum,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    KeyCheck,
    MarginMode,
    Market,
    MarketType,
    OrderInfo,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionInfo,
    Side,
    Ticker,
    Trade,
    TradesPage,
)

D = Decimal
ZERO = D(0)
__all__ = ["DEFAULT_MARKETS", "MAINTENANCE", "MAKER_FEE", "SLIPPAGE", "TAKER_FEE", "PaperExchange"]


@dataclass(slots=True)
class PaperExchange(Persisted):
    """Simulated matching on candles fed in with `feed()`. Deterministic: no clock, no randomness.

    Fees are charged in the quote currency. Swaps are one-way and USDT-margined, in cross margin whatever mode
    is set (live sets cross): funds, reservations and liquidation follow `engine.exchange.margin`, the model
    the backtester uses too (amounts converted from contracts to base units with the market's contract size),
    and liquidation is checked on every candle after the candle's fills. A candle older than the last one fed
    for its symbol is ignored: the venue never matches the same minute twice.

    With a `store` (a real paper account) the venue outlives the process, and memory keeps only its open orders and
    recent history (older orders and trades are read from the store): engine/exchange/paper_persist.py.
    """

    simulated = True

    market_type: MarketType
    balances: dict[str, Decimal]
    markets: dict[str, Market] = field(default_factory=lambda: dict(DEFAULT_MARKETS))
    maker_fee: Decimal = MAKER_FEE
    taker_fee: Decimal = TAKER_FEE
    slippage: Decimal = SLIPPAGE
    maintenance: Decimal = MAINTENANCE
    source: Any = None  # anything with fetch_ohlcv, for candles (a replay or live public data)
    owns_source: bool = True  # close() closes the source too (False when it is shared)
    exchange_id: str = "paper"
    _orders: dict[str, PaperOrder] = field(default_factory=dict)
    _by_client: dict[str, str] = field(default_factory=dict)
    _trades: list[Trade] = field(default_factory=list)  # with a store: the newest `history` only
    _trade_base: int = 0  # trades before _trades[0] (in the store only)
    _positions: dict[str, PaperPosition] = field(default_factory=dict)
    _leverage: dict[str, int] = field(default_factory=dict)
    _margin_mode: dict[str, MarginMode] = field(default_factory=dict)  # reported; funds are always cross margin
    _last: dict[str, Decimal] = field(default_factory=dict)
    _ts: dict[str, int] = field(default_factory=dict)
    _seq: int = 0
    fees_paid: Decimal = ZERO
    store: Any = None  # engine.exchange.paper_store.PaperStore, or None: the venue lives in memory only
    _lock: VenueLock = field(default_factory=VenueLock)
    _version: int = -1  # of the stored venue this copy is; -1: (re)load it first
    _behind: bool = False  # the store holds newer orders or trades than this copy: read them first (recheck)
    _initial: dict[str, Decimal] | None = None  # the balances before anything was stored
    _saved: dict | None = None  # the venue document last stored
    _order_writes: int = 0  # VenueState.order_writes of the venue this copy is
    # by symbol: (last, ts) fed since the store's, where the venue holds nothing: stored with its next change
    _unsaved: dict[str, tuple[Decimal, int]] = field(default_factory=dict)
    history: int = HISTORY  # with a store: closed orders and trades kept in memory besides the open orders

    # ---- market data ----
    async def load_markets(self) -> dict[str, Market]:
        return {s: self._own_fees(m) for s, m in self.markets.items() if m.type == self.market_type}

    async def market(self, symbol: str) -> Market:
        return self._market(symbol)

    def _market(self, symbol: str) -> Market:
        m = self.markets.get(symbol)
        if m is None or m.type != self.market_type:
            raise InvalidOrder(f"unknown market {symbol}")
        return self._own_fees(m)

    def _own_fees(self, m: Market) -> Market:
        """The market with the fee rates this account really charges."""
        if m.maker_fee == self.maker_fee and m.taker_fee == self.taker_fee:
            return m
        return replace(m, maker_fee=self.maker_fee, taker_fee=self.taker_fee)

    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        if self.source is None:
            raise InvalidOrder("this paper exchange has no candle source")
        return await self.source.fetch_ohlcv(symbol, timeframe, since=since, limit=limit)

    @reading
    async def fetch_ticker(self, symbol: str) -> Ticker:
        last = self._last.get(symbol)
        if last is None:
            raise InvalidOrder(f"no price yet for {symbol}")
        return Ticker(symbol, last, None, None, self._ts.get(symbol, 0))

    async def check_key(self) -> KeyCheck:
        return KeyCheck(valid=True, can_trade=True, can_withdraw=False, detail="paper account")

    async def close(self) -> None:
        close = getattr(self.source, "close", None)  # a live public-data gateway made for this account
        if close is not None and self.owns_source:
            await close()

    # ---- account ----
    def _quote(self) -> str:
        return "USDT"

    def _upnl(self, symbol: str, mark: Decimal | None = None) -> Decimal:
        pos = self._positions.get(symbol)
        if not pos or not pos.contracts:
            return ZERO
        px = mark if mark is not None else self._last.get(symbol, pos.entry)
        return (px - pos.entry) * pos.contracts * self.markets[symbol].contract_size

    def _mpos(self, symbol: str) -> mg.Position:
        """The position of `symbol` for the margin model: base units, marked at the last price."""
        pos = self._positions[symbol]
        return mg.Position(pos.contracts * self.markets[symbol].contract_size, pos.entry,
                           self._last.get(symbol, pos.entry), self._leverage.get(symbol, 1))

    def _mpositions(self, skip: str | None = None) -> list[mg.Position]:
        return [self._mpos(s) for s, p in self._positions.items() if p.contracts and s != skip]

    def _order_margin(self) -> Decimal:
        return sum((o.reserved for o in self._orders.values() if o.info.status == OrderStatus.OPEN), ZERO)

    def _margin_used(self) -> Decimal:
        return mg.initial_margin(self._mpositions()) + self._order_margin()

    def equity(self, marks: dict[str, Decimal] | None = None) -> Decimal:
        """Cash plus positions at mark (fees are already out of cash)."""
        marks = marks or {}
        if self.market_type == MarketType.SWAP:
            return self.balances.get("USDT", ZERO) + sum(
                (self._upnl(s, marks.get(s)) for s in self._positions), ZERO)
        total = ZERO
        for cur, amt in self.balances.items():
            if cur == self._quote():
                total += amt
            else:
                sym = f"{cur}/{self._quote()}"
                total += amt * marks.get(sym, self._last.get(sym, ZERO))
        return total

    def _reserved(self, currency: str) -> Decimal:
        out = ZERO
        for o in self._orders.values():
            if o.info.status != OrderStatus.OPEN:
                continue
            m = self.markets[o.info.symbol]
            if self.market_type == MarketType.SWAP:
                out += o.reserved if currency == "USDT" else ZERO
            elif (o.info.side == Side.BUY and currency == m.quote) or (o.info.side == Side.SELL and currency == m.base):
                out += o.reserved
        return out

    @reading
    async def fetch_balance(self) -> dict[str, Balance]:
        if self.market_type == MarketType.SWAP:
            total = mg.equity(self.balances.get("USDT", ZERO), self._mpositions())
            used = self._margin_used()
            return {"USDT": Balance("USDT", total - used, used, total)}
        return {c: Balance(c, a - self._reserved(c), self._reserved(c), a) for c, a in self.balances.items()}

    @reading
    async def fetch_positions(self, symbols: list[str] | None = None) -> list[PositionInfo]:
        out = []
        for sym, pos in sorted(self._positions.items()):
            if not pos.contracts or (symbols and sym not in symbols):
                continue
            lev = self._leverage.get(sym, 1)
            sign = 1 if pos.contracts > 0 else -1
            out.append(PositionInfo(sym, Side.BUY if sign > 0 else Side.SELL, abs(pos.contracts), pos.entry,
                                    self._last.get(sym), lev, self.liquidation_price(sym), self._upnl(sym),
                                    self._margin_mode.get(sym, MarginMode.CROSS)))
        return out

    def liquidation_price(self, symbol: str) -> Decimal | None:
        """Cross margin: the price of `symbol` at which the account's equity meets its maintenance margin."""
        pos = self._positions.get(symbol)
        if not pos or not pos.contracts:
            return None
        return mg.liquidation_price(self.balances.get("USDT", ZERO), self._mpos(symbol), self._mpositions(symbol),
                                    self.maintenance)

    @changing
    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        if not 1 <= leverage <= (self.markets[symbol].max_leverage or 125):
            raise InvalidOrder(f"leverage {leverage} out of range")
        pos = self._positions.get(symbol)
        if pos and pos.contracts:
            raise InvalidOrder("cannot change leverage with an open position")
        self._leverage[symbol] = leverage
        self._margin_mode[symbol] = MarginMode(margin_mode)

    # ---- orders ----
    @changing
    async def create_order(self, r: OrderRequest) -> OrderInfo:
        m = self._market(r.symbol)
        if await self._client_id_taken(r.client_order_id):
            raise InvalidOrder(f"duplicate client order id {r.client_order_id}")
        amount = (r.amount / m.amount_step).to_integral_value(ROUND_DOWN) * m.amount_step
        price = (r.price / m.price_step).to_integral_value(ROUND_HALF_UP) * m.price_step if r.price else None
        trigger = r.trigger_price
        ref = price or trigger or self._last.get(r.symbol)
        if ref is None:
            raise InvalidOrder(f"no price yet for {r.symbol}")
        if r.type == OrderType.LIMIT and price is None:
            raise InvalidOrder("a limit order needs a price")
        if r.type == OrderType.STOP_MARKET and trigger is None:
            raise InvalidOrder("a stop order needs a trigger price")
        reserved = self._admit(m, r, amount, price, trigger)
        self._seq += 1
        oid = f"O{self._seq}"
        info = OrderInfo(oid, r.client_order_id, r.symbol, r.side, r.type, OrderStatus.OPEN, amount, ZERO, price,
                         None, trigger, r.reduce_only, ZERO, self._quote(), self._ts.get(r.symbol))
        self._orders[oid] = PaperOrder(info, self._seq, reserved)
        self._by_client[r.client_order_id] = oid
        return info

    def _admit(self, m: Market, r: OrderRequest, amount: Decimal, price: Decimal | None,
               trigger: Decimal | None) -> Decimal:
        """The margin model's verdict on the order (in base units); what it holds, or the refusal raised."""
        cs, spot = m.contract_size, self.market_type == MarketType.SPOT
        if spot:
            position = self.balances.get(m.base, ZERO)
            free_quote = self.balances.get(m.quote, ZERO) - self._reserved(m.quote)
            free_base = position - self._reserved(m.base)
        else:
            pos = self._positions.get(r.symbol)
            position = pos.contracts * cs if pos else ZERO
            free_quote, free_base = mg.free_margin(self.balances.get("USDT", ZERO), self._mpositions(),
                                                   self._order_margin()), ZERO
        v = mg.check_order(spot=spot, side=r.side.value, type_=r.type.value, amount=amount * cs, price=price,
                           trigger=trigger, ref=self._last.get(r.symbol), reduce_only=r.reduce_only,
                           position=position, free_quote=free_quote, free_base=free_base,
                           leverage=self._leverage.get(r.symbol, 1), taker_fee=self.taker_fee,
                           slippage=self.slippage, min_amount=(m.min_amount or ZERO) * cs, min_cost=m.min_cost)
        if v.refusal is not None:
            error = {mg.BELOW_MINIMUM: BelowMinimum, mg.INSUFFICIENT_FUNDS: InsufficientFunds}.get(v.refusal,
                                                                                                 InvalidOrder)
            raise error(f"{r.symbol}: {v.detail}")
        return v.reserved if v.currency == "quote" else v.reserved / cs  # base held for a spot sell (cs is 1)

    async def _get(self, order_id: str | None, client_order_id: str | None) -> PaperOrder:
        oid = order_id or self._by_client.get(client_order_id or "")
        o = self._orders.get(oid) if oid else None
        if o is None and (o := await self._stored_order(order_id, client_order_id or "")) is None:
            raise OrderNotFound(f"order {order_id or client_order_id} not found")
        return o

    @reading
    async def fetch_order(self, symbol, order_id=None, client_order_id=None) -> OrderInfo:
        return (await self._get(order_id, client_order_id)).info

    @changing
    async def cancel_order(self, symbol, order_id=None, client_order_id=None) -> OrderInfo:
        o = await self._get(order_id, client_order_id)
        if o.info.status != OrderStatus.OPEN:
            raise OrderNotFound(f"order {o.info.id} is {o.info.status}, not open")
        o.info = replace(o.info, status=OrderStatus.CANCELED)
        o.reserved = ZERO
        return o.info

    @reading
    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        return [o.info for o in self._orders.values()
                if o.info.status == OrderStatus.OPEN and (symbol is None or o.info.symbol == symbol)]

    @reading
    async def fetch_my_trades(self, symbol: str, since: int | None = None, limit: int | None = None) -> TradesPage:
        """Trades of `symbol` with a sequence number above the cursor `since` (pass back `cursor`)."""
        page = await self._trades_after(symbol, since or 0, limit)
        return TradesPage(page, self._trade_base + len(self._trades))

    # ---- simulation ----
    @property
    def paper_venue(self) -> PaperExchange:
        """This venue, through any wrapper that passes attributes on (engine/exchange/units.py): what `feed_many`
        takes."""
        return self

    def held(self) -> int:
        """What this copy holds in memory, in records: its orders (open and recent), recent trades and symbols fed."""
        return len(self._orders) + len(self._trades) + len(self._last)

    # closed candles fed to many paper venues at once, and orders created on many, stored together (paper_batch)
    feed_many = staticmethod(feed_venues)
    create_many = staticmethod(create_on_venues)

    @changing
    async def feed(self, symbol: str, candle: list[float] | tuple) -> list[Trade]:
        """One closed candle [ts, o, h, l, c, v] of `symbol`: match its open orders, then check liquidation."""
        return self._feed(symbol, candle)

    @changing
    async def feed_candles(self, symbol: str, candles: list[list[float]]) -> int:
        """Closed candles of `symbol` in order, as `feed` one by one, stored as one change (the minutes a job
        catches up on cost one write, not one each); returns how many were new to the venue."""
        before = self._ts.get(symbol)
        try:
            self._feed_rows(symbol, candles)
        except ExchangeError:
            self._forget()  # some were taken in, not stored: the stored venue is the truth
            raise
        return sum(1 for c in candles if before is None or int(c[0]) > before)

    def _feed_rows(self, symbol: str, candles: list[list[float]]) -> None:
        """Closed candles of `symbol` in order, as `_feed` one by one. Where the venue holds no open order and no
        position on the symbol, none of them can match or liquidate anything (feeding opens nothing), so only the
        last new one's time and price are taken: most of a close's candles, on venues whose bots wait flat."""
        if len(candles) > 1 and not self._holds(symbol):
            candles = candles[-1:]
        for candle in candles:
            self._feed(symbol, candle)

    def _holds(self, symbol: str) -> bool:
        """Whether the venue holds a position or an open order on `symbol` (what a candle can match or liquidate)."""
        pos = self._positions.get(symbol)
        return bool(pos and pos.contracts) or any(
            x.info.symbol == symbol and x.info.status == OrderStatus.OPEN for x in self._orders.values())

    def _feed(self, symbol: str, candle: list[float] | tuple) -> list[Trade]:
        ts, o, h, lo, c = int(candle[0]), *(v if type(v) is D else D(str(v)) for v in candle[1:5])
        if ts <= self._ts.get(symbol, ts - 1):
            return []
        self._ts[symbol] = ts
        open_ = [x for x in self._orders.values() if x.info.symbol == symbol and x.info.status == OrderStatus.OPEN]
        sims = [SimOrder(x.info.id, x.info.side.value, x.info.type.value, x.info.remaining, x.info.price,
                         x.info.trigger_price, x.seq) for x in open_]
        new: list[Trade] = []
        for f in match(sims, o, h, lo, c, self.slippage):
            t = self._fill(self._orders[f.order_id], f.price, f.taker, ts)
            if t is not None:
                new.append(t)
        self._last[symbol] = c
        liq = self._liquidate(symbol, o, h, lo, ts)
        return new + ([liq] if liq else [])

    def _fill(self, od: PaperOrder, price: Decimal, taker: bool, ts: int) -> Trade | None:
        info, m = od.info, self.markets[od.info.symbol]
        amount = info.remaining
        if info.reduce_only and self.market_type == MarketType.SWAP:  # spot has no reduce-only: a sell is a sell
            pos = self._positions.get(info.symbol, PaperPosition())
            closing = pos.contracts and ((pos.contracts > 0) == (info.side == Side.SELL))
            amount = min(amount, abs(pos.contracts)) if closing else ZERO
            if amount <= 0:  # nothing left to reduce: the exchange cancels it
                od.info, od.reserved = replace(info, status=OrderStatus.CANCELED), ZERO
                return None
        fee = price * amount * m.contract_size * (self.taker_fee if taker else self.maker_fee)
        od.reserved = ZERO
        if self.market_type == MarketType.SWAP:
            self._swap_fill(info.symbol, info.side, amount, price, fee)
        else:
            if info.side == Side.BUY:
                self.balances[m.quote] = self.balances.get(m.quote, ZERO) - price * amount - fee
                self.balances[m.base] = self.balances.get(m.base, ZERO) + amount
            else:
                self.balances[m.base] = self.balances.get(m.base, ZERO) - amount
                self.balances[m.quote] = self.balances.get(m.quote, ZERO) + price * amount - fee
        self.fees_paid += fee
        filled = info.filled + amount
        status = OrderStatus.CLOSED if filled >= info.amount or info.reduce_only else OrderStatus.OPEN
        od.info = replace(info, filled=filled, average=price, status=status, fee=info.fee + fee)
        trade = Trade(self._next_trade_id(), info.id, info.client_order_id, info.symbol, info.side, price,
                      amount, fee, self._quote(), ts, info.reduce_only)
        self._trades.append(trade)
        return trade

    def _swap_fill(self, symbol: str, side: Side, amount: Decimal, price: Decimal, fee: Decimal) -> None:
        cs = self.markets[symbol].contract_size
        pos = self._positions.setdefault(symbol, PaperPosition())
        delta = amount if side == Side.BUY else -amount
        cash = self.balances.get("USDT", ZERO) - fee
        if pos.contracts and (pos.contracts > 0) != (delta > 0):  # reducing (maybe flipping)
            closed = min(abs(delta), abs(pos.contracts))
            sign = 1 if pos.contracts > 0 else -1
            cash += (price - pos.entry) * closed * cs * sign
            pos.contracts += sign * -closed
            rest = abs(delta) - closed
            if rest > 0:
                pos.contracts, pos.entry = (rest if delta > 0 else -rest), price
            elif not pos.contracts:
                pos.entry = ZERO
        else:
            total = abs(pos.contracts) + amount
            pos.entry = (pos.entry * abs(pos.contracts) + price * amount) / total
            pos.contracts += delta
        self.balances["USDT"] = cash

    def _liquidate(self, symbol: str, o: Decimal, h: Decimal, lo: Decimal, ts: int) -> Trade | None:
        """Cross margin: the position is closed where the account's equity met its maintenance margin, and the
        exchange cancels every open order of the account (`margin`'s rules)."""
        pos = self._positions.get(symbol)
        if not pos or not pos.contracts:
            return None
        price = mg.liquidation_fill(pos.contracts, self.liquidation_price(symbol), o, h, lo)
        return None if price is None else self.liquidate(symbol, price, ts)

    def liquidate(self, symbol: str, price: Decimal, ts: int) -> Trade | None:
        """Close the whole position of `symbol` at `price` as the venue's liquidation engine does: no fee, every
        open order of the account cancelled, the balance not below zero (also how a test has the venue do it)."""
        pos = self._positions.get(symbol)
        if not pos or not pos.contracts:
            return None
        side = Side.SELL if pos.contracts > 0 else Side.BUY
        amount = abs(pos.contracts)
        self._swap_fill(symbol, side, amount, price, ZERO)
        self.balances["USDT"] = mg.after_liquidation(self.balances["USDT"])
        for x in self._orders.values():
            if x.info.status == OrderStatus.OPEN:
                x.info, x.reserved = replace(x.info, status=OrderStatus.CANCELED), ZERO
        trade = Trade(self._next_trade_id(), "liquidation", None, symbol, side, price, amount, ZERO,
                      self._quote(), ts, True)
        self._trades.append(trade)
        return trade
