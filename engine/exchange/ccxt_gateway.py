"""The live implementation of the exchange protocol over ccxt.async_support (OKX, Binance, Bybit, Bitget, Upbit)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from db.secret_value import Secret
from engine.exchange import ccxt_account, ccxt_keys, ccxt_upbit
from engine.exchange.budget import BUDGETS, Budgets, fingerprint
from engine.exchange.ccxt_convert import dec, to_market, to_order_info
from engine.exchange.ccxt_errors import is_duplicate_id, scrub, to_domain
from engine.exchange.ccxt_lazy import ccxt
from engine.exchange.ccxt_logging import silence_ccxt_debug
from engine.exchange.ccxt_order_args import create_args
from engine.exchange.ccxt_plans import BitgetPlans
from engine.exchange.ccxt_trades import CcxtTrades
from engine.exchange.ccxt_venues import SANDBOX, venue
from engine.exchange.ccxt_weights import budgeted, charging, units_per_second
from engine.exchange.protocol import (
    Balance,
    ExchangeError,
    InvalidKey,
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
    Ticker,
    Trade,
    TradesPage,
    UnknownOutcome,
)
from engine.exchange.reachability import REACH
from engine.exchange.retry import RATE_LIMITED, RetryPolicy, is_retryable, retrying

log = logging.getLogger(__name__)
T = TypeVar("T")
MARKETS_TTL_S = 3600.0
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
        cls = ccxt_upbit.exchange_class() if exchange_id == "upbit" else getattr(ccxt, self.venue.ccxt_id)
        self._ex: ccxt.Exchange = budgeted(cls)(config)
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
        self._plans = BitgetPlans(self._ex, self.market_type == MarketType.SWAP) if exchange_id == "bitget" else None
        self._trades = CcxtTrades(self)

    @property
    def venue_label(self) -> str:
        """The venue as /health/ready and /metrics name it: a demo environment is a venue of its own."""
        return f"{self.exchange_id}-demo" if self.sandbox else self.exchange_id

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
                out = await retrying(fn, self.policy, budget, what=f"{self.exchange_id} {what}",
                                     retry_after=self._retry_after, describe=self._describe)
        except ExchangeError:
            raise
        except ccxt.BaseError as e:
            REACH.record(self.venue_label, e)
            raise self._domain(e) from None
        REACH.record(self.venue_label, None)
        return out

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
        return await ccxt_account.fetch_balance(self)

    async def fetch_positions(self, symbols: list[str] | None = None) -> list[PositionInfo]:
        return await ccxt_account.fetch_positions(self, symbols)

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        await ccxt_account.set_leverage(self, symbol, leverage, margin_mode)

    # ---- orders ----
    async def create_order(self, r: OrderRequest) -> OrderInfo:
        """Place once. A lost answer is resolved by client id before any resend; never a duplicate."""
        if self._private is None:
            raise InvalidKey(f"{self.exchange_id}: placing orders needs an API key")
        if r.type == OrderType.STOP_MARKET and not self.venue.stops:
            raise InvalidOrder(f"{self.exchange_id} has no stop orders: a stop must be watched and sent as a "
                               f"market order")
        ccxt_type, amount, price, params = await create_args(self, r)
        lost = False  # an earlier attempt may have reached the exchange
        for attempt in range(1, self.policy.attempts + 1):
            try:
                with charging(self._private):
                    raw = await self._ex.create_order(r.symbol, ccxt_type, r.side.value, amount, price,
                                                      dict(params))
            except Exception as e:
                if not isinstance(e, ccxt.BaseError):
                    raise
                REACH.record(self.venue_label, e)
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
            REACH.record(self.venue_label, None)
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
        if self._plans is not None:  # Bitget: a page at a time; on spot one market at a time
            plans = self._plans
            raw = raw + await self._call("plan_orders", lambda: plans.open_orders(symbol, raw), private=True)
        elif self._triggers_apart:
            raw = raw + await self._call("fetch_open_orders",
                                         lambda: self._ex.fetch_open_orders(symbol, None, None, {"trigger": True}),
                                         private=True)
        # Bybit's linear list already holds its conditional orders: one entry per order
        return [to_order_info(o) for o in {str(o.get("id")): o for o in raw}.values()]

    async def fetch_my_trades(self, symbol: str, since: int | None = None, limit: int | None = None) -> TradesPage:
        return await self._trades.fetch_my_trades(symbol, since, limit)

    # ---- registration ----
    async def check_key(self) -> KeyCheck:
        return await ccxt_keys.check_key(self)

    async def feed(self, symbol: str, candle: list[float] | tuple) -> list[Trade]:
        return []

    async def close(self) -> None:
        await self._ex.close()
