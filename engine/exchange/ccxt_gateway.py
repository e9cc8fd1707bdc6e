"""The live implementation of the exchange protocol over ccxt.async_support (OKX, Binance, Bybit, Bitget, Upbit)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from db.secret_value import Secret
from engine.exchange.budget import BUDGETS, Budgets, fingerprint
from engine.exchange.ccxt_convert import dec, to_market, to_order_info
from engine.exchange.ccxt_errors import is_duplicate_id, scrub, to_domain
from engine.exchange.ccxt_lazy import ccxt
from engine.exchange.ccxt_logging import silence_ccxt_debug
from engine.exchange.ccxt_plans import BitgetPlans
from engine.exchange.ccxt_venues import (
    SANDBOX,
    binance_permissions,
    bitget_permissions,
    bybit_permissions,
    okx_permissions,
    venue,
)
from engine.exchange.ccxt_weights import budgeted, charging, units_per_second
from engine.exchange.protocol import (
    Balance,
    BelowMinimum,
    ExchangeError,
    InvalidKey,
    InvalidOrder,
    KeyCheck,
    MarginMode,
    Market,
    MarketType,
    MissingPermission,
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
    UnknownOutcome,
)
from engine.exchange.retry import RATE_LIMITED, RetryPolicy, is_retryable, retrying

log = logging.getLogger(__name__)
T = TypeVar("T")
D = Decimal
_NO_CHANGE = ("no need to change", "not modified", "already")
MARKETS_TTL_S = 3600.0
_TRADE_CLIENT_ID = ("clOrdId", "clientOrderId", "orderLinkId", "clientOid")  # the venues' names on a fill
OKX_TRADES_PAGE = 100  # OKX's page of fills (the newest first)
# ccxt's parsed markets per (exchange, market type, API base): loaded once for every user of the process
_MARKETS: dict[tuple[str, str, str, bool], tuple[float, dict]] = {}
silence_ccxt_debug()


def _plain(v: str | Secret | None) -> str | None:
    return v.reveal() if isinstance(v, Secret) else v


def point_at(exchange: ccxt.Exchange, base_url: str) -> None:
    """Send every REST call of a ccxt instance to `base_url` (tests use a local fake server)."""
    exchange.urls["api"] = {k: re.sub(r"^https?://[^/]+", base_url.rstrip("/"), v) if isinstance(v, str) else v
                            for k, v in exchange.urls["api"].items()}


class CcxtGateway:
    """One account (or public data only) on one exchange and market type, behind the protocol.

    Creates are never duplicated: every order carries our deterministic client id; a create whose answer is
    lost (timeout, reset, 5xx) is looked up by that id before any resend, and if the lookup cannot tell,
    `UnknownOutcome` is raised for reconciliation to settle later.
    """

    simulated = False  # the venue matches its own orders: candles fed to it are ignored

    def __init__(
        self,
        exchange_id: str,
        market_type: MarketType,
        *,
        api_key: str | Secret | None = None,
        secret: str | Secret | None = None,
        passphrase: str | Secret | None = None,
        urls_override: str | dict | None = None,
        policy: RetryPolicy | None = None,
        budgets: Budgets | None = None,
        timeout_ms: int = 10_000,
        lookup_delay: float = 0.3,
        rates: tuple[float, float] | None = None,
        sandbox: bool = False,
    ):
        """`sandbox`: the venue's demo/testnet environment (demo keys, no real money), where it has one."""
        self.exchange_id, self.market_type = exchange_id, MarketType(market_type)
        self.venue = venue(exchange_id)
        if self.market_type not in self.venue.default_type:
            raise ValueError(f"{exchange_id} has no {self.market_type} market here")
        if sandbox and self.venue.demo is None:
            raise ValueError(f"{exchange_id} has no demo or testnet environment")
        self.sandbox = sandbox
        self.policy = policy or RetryPolicy()
        self.lookup_delay = lookup_delay  # let a lost create become visible before looking it up
        key, sec, pw = _plain(api_key), _plain(secret), _plain(passphrase)
        self._secrets = tuple(s for s in (key, sec, pw) if s)
        config: dict[str, Any] = {"enableRateLimit": True, "timeout": timeout_ms,
                                  "options": {"defaultType": self.venue.default_type[self.market_type],
                                              "fetchMarkets": {"types": self.venue.market_kinds[self.market_type]},
                                              **self.venue.options}}
        if key:
            config.update(apiKey=key, secret=sec or "", password=pw or "")
        self._ex: ccxt.Exchange = budgeted(getattr(ccxt, self.venue.ccxt_id))(config)
        self._ex.has["fetchCurrencies"] = False  # one private call per start-up that nothing here needs
        if sandbox:  # before any URL override, which then applies to the demo URLs
            if self.venue.demo == SANDBOX:
                self._ex.set_sandbox_mode(True)
            else:
                self._ex.enable_demo_trading(True)
        if isinstance(urls_override, str):
            point_at(self._ex, urls_override)
        elif urls_override:
            self._ex.urls["api"] = dict(urls_override)
        budgets = budgets or BUDGETS
        ccxt_rate = units_per_second(self._ex)
        public_rate, private_rate = rates or (self.venue.public_rate or ccxt_rate, self.venue.private_rate or ccxt_rate)
        self.account = fingerprint(key) if key else None
        env = f"{exchange_id}-demo" if sandbox else exchange_id  # the demo environment has its own limits
        self._public = budgets.public(env, public_rate, self.venue.burst)
        self._private = (budgets.private(env, key, private_rate, self.venue.burst) if key else None)
        self._markets: dict[str, Market] | None = None
        self._markets_lock: asyncio.Lock | None = None
        self._one_way_done = False
        self._modes: dict[str, str] = {}  # margin mode chosen per swap symbol
        self._triggers_apart = self.market_type in self.venue.triggers_apart
        self._algo_ids: dict[str, str | None] = {}  # OKX: child order id -> its trigger order's client id
        self._plans = BitgetPlans(self._ex, self.market_type == MarketType.SWAP) if exchange_id == "bitget" else None

    def __repr__(self) -> str:
        demo = ", sandbox" if self.sandbox else ""
        return f"CcxtGateway({self.exchange_id}, {self.market_type}, account={self.account}{demo})"

    # ---- plumbing ----
    def _retry_after(self, e: BaseException) -> float | None:
        headers = getattr(self._ex, "last_response_headers", None) or {}
        for k, v in headers.items():
            if k.lower() == "retry-after":
                try:
                    return float(v)
                except ValueError:
                    return None
        return None

    def _describe(self, e: BaseException) -> str:
        return f"{type(e).__name__}: {scrub(str(e), self._secrets, 160)}"

    def _domain(self, e: BaseException) -> ExchangeError:
        return to_domain(e, self.exchange_id, self._secrets,
                         self._retry_after(e) if isinstance(e, RATE_LIMITED) else None)

    async def _call(self, what: str, fn: Callable[[], Awaitable[T]], *, private: bool = False) -> T:
        """A retried ccxt call, each of its requests charged its weight to the public or the account's budget;
        ccxt errors come out as domain errors."""
        budget = self._private if private else self._public
        if budget is None:
            raise InvalidKey(f"{self.exchange_id}: {what} needs an API key")
        try:
            with charging(budget):
                return await retrying(fn, self.policy, budget, what=f"{self.exchange_id} {what}",
                                      retry_after=self._retry_after, describe=self._describe)
        except ExchangeError:
            raise
        except ccxt.BaseError as e:
            raise self._domain(e) from None

    # ---- markets ----
    async def load_markets(self) -> dict[str, Market]:
        if self._markets is None:
            self._markets_lock = self._markets_lock or asyncio.Lock()
            async with self._markets_lock:
                if self._markets is None:
                    key = (self.exchange_id, self.market_type.value, repr(sorted(self._ex.urls["api"].items())),
                           self.sandbox)
                    cached = _MARKETS.get(key)
                    if cached is not None and time.monotonic() - cached[0] < MARKETS_TTL_S:
                        self._ex.set_markets(cached[1])
                        raw = self._ex.markets
                    else:
                        raw = await self._call("load_markets", self._ex.load_markets)
                        _MARKETS[key] = (time.monotonic(), raw)
                    self._markets = {s: to_market(m, self.market_type) for s, m in raw.items() if self._wanted(m)}
        return self._markets

    def _wanted(self, m: dict) -> bool:
        if self.market_type == MarketType.SPOT:
            return bool(m.get("spot"))
        return bool(m.get("swap")) and bool(m.get("linear"))

    async def market(self, symbol: str) -> Market:
        markets = await self.load_markets()
        m = markets.get(symbol)
        if m is None:
            raise InvalidOrder(f"{self.exchange_id}: unknown {self.market_type} market {symbol}")
        return m

    # ---- public data ----
    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None) -> list[list[float]]:
        await self.load_markets()
        return await self._call("fetch_ohlcv", lambda: self._ex.fetch_ohlcv(symbol, timeframe, since, limit))

    async def fetch_ticker(self, symbol: str) -> Ticker:
        await self.load_markets()
        t = await self._call("fetch_ticker", lambda: self._ex.fetch_ticker(symbol))
        last = dec(t.get("last")) or dec(t.get("close"))
        if last is None:
            raise ExchangeError(f"{self.exchange_id}: no last price for {symbol}")
        return Ticker(symbol, last, dec(t.get("bid")), dec(t.get("ask")), int(t.get("timestamp") or 0))

    # ---- account ----
    async def fetch_balance(self) -> dict[str, Balance]:
        raw = await self._call("fetch_balance", self._ex.fetch_balance, private=True)
        out = {}
        for cur, total in (raw.get("total") or {}).items():
            if total is None:
                continue
            free = dec((raw.get("free") or {}).get(cur)) or D(0)
            used = dec((raw.get("used") or {}).get(cur)) or D(0)
            out[cur] = Balance(cur, free, used, D(str(total)))
        return out

    async def fetch_positions(self, symbols: list[str] | None = None) -> list[PositionInfo]:
        if self.market_type != MarketType.SWAP:
            return []
        await self.load_markets()
        raw = await self._call("fetch_positions", lambda: self._ex.fetch_positions(symbols), private=True)
        out = []
        for p in raw:
            contracts = dec(p.get("contracts")) or D(0)
            if not contracts:
                continue
            side = Side.SELL if p.get("side") == "short" else Side.BUY
            mode = p.get("marginMode")
            out.append(PositionInfo(p["symbol"], side, abs(contracts), dec(p.get("entryPrice")) or D(0),
                                    dec(p.get("markPrice")), int(p["leverage"]) if p.get("leverage") else None,
                                    dec(p.get("liquidationPrice")), dec(p.get("unrealizedPnl")),
                                    MarginMode(mode) if mode in ("cross", "isolated") else None))
        return out

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        """One-way position mode, then the margin mode and leverage, all explicit."""
        if self.market_type != MarketType.SWAP:
            raise InvalidOrder(f"{self.exchange_id}: spot markets have no leverage")
        m = await self.market(symbol)
        if leverage < 1 or (m.max_leverage and leverage > m.max_leverage):
            raise InvalidOrder(f"{self.exchange_id}: leverage {leverage} outside 1..{m.max_leverage} for {symbol}")
        mode = MarginMode(margin_mode).value
        if not self._one_way_done:
            await self._idempotent("set_position_mode", lambda: self._ex.set_position_mode(False, symbol))
            self._one_way_done = True
        if self.exchange_id == "okx":  # OKX sets both in one call
            await self._idempotent("set_leverage", lambda: self._ex.set_leverage(leverage, symbol, {"mgnMode": mode}))
            self._modes[symbol] = mode
            return
        # leverage first: a refused leverage leaves the margin mode as it was
        await self._idempotent("set_leverage", lambda: self._ex.set_leverage(leverage, symbol, {"marginMode": mode}))
        await self._idempotent("set_margin_mode",
                               lambda: self._ex.set_margin_mode(mode, symbol, {"leverage": leverage}))
        self._modes[symbol] = mode

    async def _idempotent(self, what: str, fn: Callable[[], Awaitable[Any]]) -> None:
        """A settings call where "already set that way" is success."""
        try:
            await self._call(what, fn, private=True)
        except ExchangeError as e:
            if not any(h in str(e).lower() for h in _NO_CHANGE):
                raise

    # ---- orders ----
    async def _prepared(self, r: OrderRequest) -> tuple[float, float | None, float | None]:
        """Amount and prices through ccxt's precision, refused below the market's minimums with the numbers."""
        m = await self.market(r.symbol)
        if not m.active:
            raise InvalidOrder(f"{self.exchange_id}: market {r.symbol} is not active")
        unit = "contracts" if self.market_type == MarketType.SWAP else m.base
        try:
            amount = D(self._ex.amount_to_precision(r.symbol, float(r.amount)))
        except ccxt.InvalidOrder:
            amount = D(0)
        if amount <= 0:
            raise BelowMinimum(f"{r.symbol}: amount {r.amount} {unit} is below the minimum "
                               f"{m.min_amount or m.amount_step} {unit} (it rounds to 0 at the lot size "
                               f"{m.amount_step})")
        price = D(self._ex.price_to_precision(r.symbol, float(r.price))) if r.price is not None else None
        trigger = (D(self._ex.price_to_precision(r.symbol, float(r.trigger_price)))
                   if r.trigger_price is not None else None)
        if r.type == OrderType.LIMIT and price is None:
            raise InvalidOrder("a limit order needs a price")
        if r.type == OrderType.STOP_MARKET and trigger is None:
            raise InvalidOrder("a stop order needs a trigger price")
        if m.min_amount is not None and amount < m.min_amount and not r.reduce_only:
            raise BelowMinimum(f"{r.symbol}: amount {amount} {unit} is below the minimum {m.min_amount} {unit}")
        if m.min_cost is not None and not r.reduce_only:
            ref = price or trigger or (await self.fetch_ticker(r.symbol)).last
            cost = amount * ref * m.contract_size
            if cost < m.min_cost:
                raise BelowMinimum(f"{r.symbol}: order value {cost.normalize():f} {m.quote} is below the minimum "
                                   f"{m.min_cost.normalize():f} {m.quote}")
        return float(amount), float(price) if price is not None else None, (
            float(trigger) if trigger is not None else None)

    def _order_params(self, r: OrderRequest, trigger: float | None) -> dict[str, Any]:
        id_param = self.venue.client_id_param
        if trigger is not None:
            id_param = self.venue.trigger_client_id_param.get(self.market_type, id_param)
        params: dict[str, Any] = {id_param: r.client_order_id}
        if r.reduce_only and self.market_type == MarketType.SWAP:
            params["reduceOnly"] = True
        if r.post_only:
            params["postOnly"] = True
        if trigger is not None:
            params["triggerPrice"] = trigger
        if self.exchange_id == "okx":
            if self.market_type == MarketType.SWAP:
                params["tdMode"] = self._modes.get(r.symbol, MarginMode.CROSS.value)
            else:
                params["tgtCcy"] = "base_ccy"  # market buys in base units like every other order
        elif self.market_type == MarketType.SWAP and r.symbol in self._modes:
            params["marginMode"] = self._modes[r.symbol]
        if trigger is not None and self.exchange_id == "bybit" and self.market_type == MarketType.SWAP:
            # a stop: a sell fires as the price falls to the trigger, a buy as it rises
            params["triggerDirection"] = "descending" if r.side == Side.SELL else "ascending"
        if trigger is not None and self.exchange_id == "bitget":
            params["triggerType"] = "fill_price"  # the last traded price, as on the other venues (ccxt: mark)
        return params

    async def create_order(self, r: OrderRequest) -> OrderInfo:
        """Place once. A lost answer is resolved by client id before any resend; never a duplicate."""
        if self._private is None:
            raise InvalidKey(f"{self.exchange_id}: placing orders needs an API key")
        if r.type == OrderType.STOP_MARKET and not self.venue.stops:
            raise InvalidOrder(f"{self.exchange_id} has no stop orders: a stop must be watched and sent as a "
                               f"market order")
        amount, price, trigger = await self._prepared(r)
        params = self._order_params(r, trigger)
        if (r.side == Side.BUY and r.type != OrderType.LIMIT
                and self.market_type in self.venue.market_buys_in_quote):
            # the venue takes a market buy as a quote-coin total: our base amount at the trigger or last price
            ref = D(str(trigger)) if trigger is not None else (await self.fetch_ticker(r.symbol)).last
            params["cost"] = float(D(str(amount)) * ref)
        ccxt_type = "market" if r.type in (OrderType.MARKET, OrderType.STOP_MARKET) else "limit"
        lost = False  # an earlier attempt may have reached the exchange
        for attempt in range(1, self.policy.attempts + 1):
            try:
                with charging(self._private):
                    raw = await self._ex.create_order(r.symbol, ccxt_type, r.side.value, amount, price,
                                                      dict(params))
            except Exception as e:
                if not isinstance(e, ccxt.BaseError):
                    raise
                if is_duplicate_id(e):
                    # our id is already taken, so an earlier send (ours) got through: adopt it
                    found = await self._lookup(r)
                    if found is not None:
                        return found
                    raise self._domain(e) from None
                if not is_retryable(e):
                    raise self._domain(e) from None
                if isinstance(e, RATE_LIMITED) and not lost:
                    delay = max(self.policy.delay(attempt), self._retry_after(e) or 0.0)
                    self._private.pause(delay)
                    log.warning("%s create %s rate-limited, retry in %.2fs", self.exchange_id, r.client_order_id,
                                delay)
                    if attempt == self.policy.attempts:
                        raise self._domain(e) from None
                    continue  # refused outright: nothing was created
                lost = True
                log.warning("%s create %s: answer lost (%s); looking it up by client id", self.exchange_id,
                            r.client_order_id, self._describe(e))
                await asyncio.sleep(self.lookup_delay)
                found = await self._lookup(r)  # raises UnknownOutcome when it cannot tell
                if found is not None:
                    return found
                if attempt == self.policy.attempts:
                    raise self._domain(e) from None
                await asyncio.sleep(self.policy.delay(attempt))
                continue
            info = to_order_info(raw, r)
            if raw.get("status") is None:  # a bare acknowledgement (OKX): learn the state
                stop = r.type == OrderType.STOP_MARKET and self._triggers_apart
                try:
                    return await self._fetch(r.symbol, info.id, None, trigger=bool(stop))
                except ExchangeError:
                    return info
            return info
        raise AssertionError("unreachable")

    async def _lookup(self, r: OrderRequest) -> OrderInfo | None:
        """The order with our client id, None if the exchange says there is none, UnknownOutcome if it can't say."""
        try:
            stop = r.type == OrderType.STOP_MARKET and self._triggers_apart
            return await self._fetch(r.symbol, None, r.client_order_id, trigger=bool(stop))
        except OrderNotFound:
            return None
        except ExchangeError as e:
            raise UnknownOutcome(f"{self.exchange_id}: order {r.client_order_id} may or may not exist "
                                 f"({e.reason}); reconcile by client id", retry_after=e.retry_after) from None

    def _id_params(self, order_id: str | None, client_order_id: str | None) -> tuple[str | None, dict]:
        if order_id:
            return order_id, {}
        if not client_order_id:
            raise InvalidOrder("an order id or a client order id is needed")
        return None, {self.venue.lookup_client_id_param: client_order_id}

    async def fetch_order(self, symbol, order_id=None, client_order_id=None) -> OrderInfo:
        return await self._fetch(symbol, order_id, client_order_id, trigger=None)

    async def _fetch(self, symbol: str, order_id: str | None, client_order_id: str | None, *,
                     trigger: bool | None) -> OrderInfo:
        """trigger=None: a regular order, else (where stop orders live apart) a stop order."""
        await self.load_markets()
        oid, params = self._id_params(order_id, client_order_id)
        if trigger:
            params["trigger"] = True
        try:
            raw = await self._call("fetch_order", lambda: self._fetch_raw(oid, symbol, dict(params)), private=True)
        except OrderNotFound:
            if trigger is None and self._triggers_apart:
                return await self._fetch(symbol, order_id, client_order_id, trigger=True)
            raise
        return to_order_info(raw)

    async def _fetch_raw(self, oid: str | None, symbol: str, params: dict) -> dict:
        if params.get("trigger") and self._plans is not None:  # not served by the plain order-detail endpoint
            return await self._plans.find(symbol, oid, params.get(self.venue.lookup_client_id_param))
        if oid is None and self.venue.client_id_lookup_in_open_orders:
            found = await self._ex.fetch_open_orders(symbol, None, None, params)
            if not found:
                raise ccxt.OrderNotFound(f"{self.exchange_id}: no order {params}")
            return found[0]
        return await self._ex.fetch_order(oid, symbol, params)

    async def cancel_order(self, symbol, order_id=None, client_order_id=None) -> OrderInfo:
        """Cancel and return the order's state. A cancel retried after a lost answer, or of an order that just
        filled, is answered from the order's real state instead of "not found"."""
        await self.load_markets()
        oid, params = self._id_params(order_id, client_order_id)
        try:
            await self._call("cancel_order", lambda: self._ex.cancel_order(oid, symbol, dict(params)), private=True)
        except OrderNotFound:
            info = await self.fetch_order(symbol, order_id, client_order_id)  # OrderNotFound if it never existed
            if info.status != OrderStatus.OPEN:
                return info
            if not self._triggers_apart or info.type != OrderType.STOP_MARKET:
                raise
            # a stop order in its own namespace: cancelled by its exchange id
            await self._call("cancel_order", lambda: self._ex.cancel_order(info.id, symbol, {"trigger": True}),
                             private=True)
            return await self._fetch(symbol, info.id, None, trigger=True)
        return await self.fetch_order(symbol, order_id, client_order_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        await self.load_markets()
        raw = await self._call("fetch_open_orders", lambda: self._ex.fetch_open_orders(symbol), private=True)
        if self._triggers_apart:
            raw = raw + await self._call("fetch_open_orders",
                                         lambda: self._ex.fetch_open_orders(symbol, None, None, {"trigger": True}),
                                         private=True)
        # Bybit's linear list already holds its conditional orders: one entry per order
        return [to_order_info(o) for o in {str(o.get("id")): o for o in raw}.values()]

    async def fetch_my_trades(self, symbol: str, since: int | None = None, limit: int | None = None) -> TradesPage:
        """Trades at or after `since` (ms); the cursor is the newest trade's time, so a page boundary inside one
        millisecond repeats a trade rather than losing one (fills are keyed by trade id downstream)."""
        await self.load_markets()
        raw = await self._call("fetch_my_trades", lambda: self._ex.fetch_my_trades(symbol, since, limit),
                               private=True)
        if self.exchange_id == "okx" and since is not None and limit is None:
            raw = await self._okx_older_trades(symbol, since, raw)
        trades = []
        for t in sorted(raw, key=lambda t: (t.get("timestamp") or 0, str(t.get("id")))):
            fee = t.get("fee") or {}
            info = t.get("info") or {}
            cid = next((info[k] for k in _TRADE_CLIENT_ID if info.get(k)), None)
            if not cid and self._triggers_apart and self.exchange_id == "okx" and t.get("order"):
                cid = await self._algo_client_id(symbol, str(t["order"]))
            elif not cid and self._plans is not None and t.get("order"):
                cid = await self._plan_client_id(symbol, str(t["order"]))
            trades.append(Trade(str(t["id"]), str(t.get("order")), cid or None,
                                t["symbol"], Side(t["side"]), D(str(t["price"])), D(str(t["amount"])),
                                abs(dec(fee.get("cost")) or D(0)), fee.get("currency"), int(t["timestamp"]),
                                bool(info.get("reduceOnly") in (True, "true"))))
        cursor = trades[-1].ts if trades else since
        return TradesPage(trades, cursor)

    async def _okx_older_trades(self, symbol: str, since: int, raw: list[dict]) -> list[dict]:
        """OKX answers the newest page of trades after `since`: page back with `until` until nothing is new, so
        a busy interval never loses the trades between `since` and the newest page."""
        seen = {str(t["id"]) for t in raw}
        page = raw
        while len(page) >= OKX_TRADES_PAGE:  # a full page: there may be older ones
            until = min(int(t["timestamp"]) for t in page)
            page = await self._call("fetch_my_trades", lambda u=until: self._ex.fetch_my_trades(
                symbol, since, None, {"until": u}), private=True)
            new = [t for t in page if str(t["id"]) not in seen]
            if not new:
                break
            seen.update(str(t["id"]) for t in new)
            raw = raw + new
        return raw

    async def _algo_client_id(self, symbol: str, order_id: str) -> str | None:
        """OKX: the client id of the trigger order that became market order `order_id` (cached; None if none)."""
        if order_id not in self._algo_ids:
            raw = await self._call("fetch_order", lambda: self._ex.fetch_order(order_id, symbol), private=True)
            self._algo_ids[order_id] = (raw.get("info") or {}).get("algoClOrdId") or None
        return self._algo_ids[order_id]

    async def _plan_client_id(self, symbol: str, order_id: str) -> str | None:
        """Bitget: the client id of the plan order that became order `order_id` (None if none did)."""
        plans = self._plans
        assert plans is not None
        return await self._call("plan_orders", lambda: plans.client_id_of(symbol, order_id), private=True)

    # ---- registration ----
    async def check_key(self) -> KeyCheck:
        """Valid? Trading allowed? Withdrawal allowed (None where the exchange does not tell)?"""
        try:
            await self.fetch_balance()
        except (InvalidKey, MissingPermission) as e:
            return KeyCheck(False, False, None, e.reason)
        can_trade, can_withdraw = True, None
        if self.sandbox and self.venue.demo != SANDBOX:
            # Binance's and Bybit's demo trading serve no key-permission endpoint; demo funds cannot leave anyway
            return KeyCheck(True, True, None, "ok")
        try:
            if self.exchange_id == "okx":
                cfg = await self._call("account_config", self._ex.private_get_account_config, private=True)
                can_trade, can_withdraw = okx_permissions(cfg)
            elif self.exchange_id == "binance":
                r = await self._call("api_restrictions", self._ex.sapi_get_account_apirestrictions, private=True)
                can_trade, can_withdraw = binance_permissions(r, self.market_type)
            elif self.exchange_id == "bybit":
                info = await self._call("query_api", self._ex.private_get_v5_user_query_api, private=True)
                can_trade, can_withdraw = bybit_permissions(info)
            elif self.exchange_id == "bitget":
                info = await self._call("account_info", self._ex.private_spot_get_v2_spot_account_info, private=True)
                can_trade, can_withdraw = bitget_permissions(info, self.market_type)
        except (InvalidKey, MissingPermission) as e:
            return KeyCheck(True, False, None, e.reason)
        detail = "withdrawal enabled: refuse this key" if can_withdraw else ("read only" if not can_trade else "ok")
        return KeyCheck(True, can_trade, can_withdraw, detail)

    async def feed(self, symbol: str, candle: list[float] | tuple) -> list[Trade]:
        return []

    async def close(self) -> None:
        await self._ex.close()
