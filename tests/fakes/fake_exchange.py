"""A local fake exchange speaking enough OKX v5 and Binance (spot + USDT-M futures) for real ccxt, with failure injection.

Bybit v5, Bitget v2 and Upbit speak through subclasses in tests/fakes/fake_<venue>.py (`FakeExchange("bybit")`
builds one), on the same accounts, orders, fills and failure injection.

It runs on 127.0.0.1 at a random port, verifies request signatures like the real venue (OKX OK-ACCESS-SIGN,
Binance HMAC `signature`), keeps accounts, orders, fills and swap positions, and records every order it
accepted so a test can count duplicates.

Usage::

    async with FakeExchange("okx", data_dir=shared_data) as fake:          # or FakeExchange("binance")
        fake.add_account("key1", "secret1", "pass1", {"USDT": "10000"})      # can_trade=, can_withdraw=
        fake.set_price("BTC/USDT", "60000")        # also fills resting limit orders the price crosses
        ex = ccxt.okx({...}); ex.urls["api"] = fake.ccxt_urls(ex)           # or make_exchange(..., urls_override=fake.url)
        fake.fail_next("timeout", op="create")     # the next create hangs past the client's timeout, nothing made
        fake.fail_next("lost", op="create")        # the order IS created, then the answer hangs ("reset" drops it,
                                                   # "lost_5xx" answers 503)
        fake.fail_next("rate_limit")               # next request of any op: 429 with the venue's own body code
        fake.fail_next("server_error", times=2)    # 503 twice; "duplicate" / "insufficient" refuse a create
        fake.chaos(0.3, seed=7)                    # 30 % of requests fail with a random network-class failure
        fake.chaos(0)                              # stop the chaos
        fake.created, fake.duplicates(), fake.requests, fake.fill(order_id), fake.orders, fake.algos

OKX trigger orders go to /trade/order-algo, are named only by `algoClOrdId`, and become a market order (whose
details carry `algoClOrdId`/`algoId`) when `set_price` crosses their trigger.

Ops (for `op=`): markets, ticker, ohlcv, balance, positions, create, cancel, fetch_order, open_orders, trades,
leverage, position_mode, config, key_info, time. `hang_seconds` is how long a hung request waits (set it
above the client's timeout); `retry_after` is what Binance's 429 asks for. Client ids are unique among open
orders only, as on Binance: resending the id of an order that already filled makes a second order, which is
exactly what a test must be able to catch. `tests/fakes/gateways.py` builds engine gateways pointed at a fake
with short timeouts and small backoff (`venue(...)`, `gateway(fake, ...)`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import importlib
import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import web

from engine.candles import load_csv

D = Decimal
ZERO, ONE = D(0), D(1)
FEE = D("0.001")
NETWORK_KINDS = ("timeout", "rate_limit", "server_error", "lost", "reset", "lost_5xx")
CHAOS_KINDS = ("timeout", "rate_limit", "server_error", "lost", "reset")
AFTER_KINDS = ("lost", "reset", "lost_5xx")  # the request is executed, then its answer is lost


@dataclass
class Spec:
    symbol: str  # "BTC/USDT" or "BTC/USDT:USDT"
    base: str
    quote: str
    swap: bool
    tick: Decimal
    lot: Decimal
    min_qty: Decimal
    ct_val: Decimal = ONE
    min_notional: Decimal = ZERO

    @property
    def pair(self) -> str:
        return f"{self.base}/{self.quote}"


OKX_SPECS = {
    "BTC-USDT": Spec("BTC/USDT", "BTC", "USDT", False, D("0.1"), D("0.00000001"), D("0.00001")),
    "ETH-USDT": Spec("ETH/USDT", "ETH", "USDT", False, D("0.01"), D("0.000001"), D("0.0001")),
    "BTC-USDT-SWAP": Spec("BTC/USDT:USDT", "BTC", "USDT", True, D("0.1"), D("0.01"), D("0.01"), D("0.01")),
    "ETH-USDT-SWAP": Spec("ETH/USDT:USDT", "ETH", "USDT", True, D("0.01"), D("0.01"), D("0.01"), D("0.1")),
}
BINANCE_SPECS = {
    "BTCUSDT": Spec("BTC/USDT", "BTC", "USDT", False, D("0.01"), D("0.00001"), D("0.00001"), D(1), D(5)),
    "ETHUSDT": Spec("ETH/USDT", "ETH", "USDT", False, D("0.01"), D("0.0001"), D("0.0001"), D(1), D(5)),
}
BINANCE_FUTURES_SPECS = {
    "BTCUSDT": Spec("BTC/USDT:USDT", "BTC", "USDT", True, D("0.10"), D("0.001"), D("0.001"), D(1), D(100)),
    "ETHUSDT": Spec("ETH/USDT:USDT", "ETH", "USDT", True, D("0.01"), D("0.001"), D("0.001"), D(1), D(20)),
}
OKX_CODES = {"duplicate": "51016", "insufficient": "51008", "amount": "51020", "price": "51000",
             "notional": "51020", "bad_symbol": "51001", "permission": "50120", "not_found": "51603",
             "cancel_not_found": "51400", "leverage": "59000"}

BINANCE_CODES = {"duplicate": (-2010, "Duplicate order sent."),
                 "insufficient": (-2010, "Account has insufficient balance for requested action."),
                 "amount": (-1013, "Filter failure: LOT_SIZE"), "price": (-1013, "Filter failure: PRICE_FILTER"),
                 "notional": (-1013, "Filter failure: NOTIONAL"), "bad_symbol": (-1121, "Invalid symbol."),
                 "permission": (-2015, "Invalid API-key, IP, or permissions for action."),
                 "not_found": (-2013, "Order does not exist."), "cancel_not_found": (-2011, "Unknown order sent.")}

DEFAULT_PRICES = {"BTC/USDT": D("60000"), "ETH/USDT": D("3000")}


@dataclass
class Account:
    api_key: str
    secret: str
    passphrase: str
    balances: dict[str, Decimal]
    can_trade: bool = True
    can_withdraw: bool = False
    leverage: dict[str, int] = field(default_factory=dict)
    margin_mode: dict[str, str] = field(default_factory=dict)
    pos_mode: str = "long_short_mode"  # the venue's default is hedge mode; the gateway must switch it
    demo: bool = False  # a demo-trading key: only valid in the venue's demo environment
    positions: dict[str, list[Decimal]] = field(default_factory=dict)  # inst -> [signed contracts, entry]


@dataclass
class Order:
    id: str
    client_id: str
    inst: str
    swap: bool
    side: str  # buy / sell
    type: str  # market / limit
    amount: Decimal
    price: Decimal | None
    api_key: str
    ts: int
    reduce_only: bool = False
    margin_mode: str | None = None
    filled: Decimal = ZERO
    avg: Decimal | None = None
    fee: Decimal = ZERO
    status: str = "open"  # open / filled / canceled (an OKX trigger order: live / effective / canceled)
    trigger: Decimal | None = None  # OKX trigger (algo) orders: type "trigger"
    child: str = ""  # the market order a trigger order became
    algo_client_id: str = ""  # on that child: its trigger order's ids
    algo_id: str = ""


@dataclass
class Fill:
    id: str
    order: Order
    price: Decimal
    amount: Decimal
    fee: Decimal
    maker: bool
    ts: int


@dataclass
class Plan:
    kind: str
    op: str | None
    times: int


class Refused(Exception):
    """A business refusal: answered with the venue's own error shape."""

    def __init__(self, code: str, msg: str, status: int = 200):
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _now() -> int:
    return int(time.time() * 1000)


def _s(x: Decimal | None) -> str:
    return "" if x is None else format(x.normalize(), "f")


DIALECTS = {"bybit": "FakeBybit", "bitget": "FakeBitget", "upbit": "FakeUpbit"}  # in tests/fakes/fake_<venue>.py


class FakeExchange:
    def __new__(cls, venue: str, **kw):
        if cls is FakeExchange and venue in DIALECTS:
            cls = getattr(importlib.import_module(f"tests.fakes.fake_{venue}"), DIALECTS[venue])
        return super().__new__(cls)

    def __init__(self, venue: str, *, data_dir: str | Path | None = None, hang_seconds: float = 2.0,
                 retry_after: float = 1.0):
        if venue not in ("okx", "binance", *DIALECTS):
            raise ValueError(f"unsupported venue {venue}")
        self.venue, self.data_dir, self.hang_seconds = venue, Path(data_dir) if data_dir else None, hang_seconds
        self.retry_after = retry_after  # seconds, sent in Binance's Retry-After header on a 429
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}
        self.algos: dict[str, Order] = {}  # OKX trigger orders, by algoId
        self.created: list[Order] = []  # every order accepted, in order (duplicates show up twice)
        self.fills: list[Fill] = []
        self.prices: dict[str, Decimal] = dict(DEFAULT_PRICES)
        self.requests: list[tuple[float, str, str]] = []  # (monotonic time, op, api key or "")
        self.injected: list[tuple[str, str]] = []  # (op, kind) of every failure served
        self._plans: list[Plan] = []
        self._chaos_p, self._chaos_kinds, self._chaos_ops = 0.0, CHAOS_KINDS, None
        self._rng = random.Random(0)
        self._seq = 0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- lifecycle ----
    async def start(self) -> FakeExchange:
        app = web.Application()
        self._routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeExchange:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _routes(self, app: web.Application) -> None:
        (self._okx_routes if self.venue == "okx" else self._binance_routes)(app)

    def ccxt_urls(self, exchange) -> dict:
        """`exchange.urls['api']` with every host replaced by this server."""
        return {k: re.sub(r"^https?://[^/]+", self.url, v) if isinstance(v, str) else v
                for k, v in exchange.urls["api"].items()}

    # ---- test controls ----
    def add_account(self, api_key: str, secret: str, passphrase: str = "", balances: dict | None = None, *,
                    can_trade: bool = True, can_withdraw: bool = False, demo: bool = False) -> Account:
        acc = Account(api_key, secret, passphrase, {k: D(str(v)) for k, v in (balances or {}).items()},
                      can_trade, can_withdraw, demo=demo)
        self.accounts[api_key] = acc
        return acc

    def fail_next(self, kind: str, op: str | None = None, times: int = 1) -> None:
        if kind not in (*NETWORK_KINDS, "duplicate", "insufficient"):
            raise ValueError(f"unknown failure kind {kind}")
        self._plans.append(Plan(kind, op, times))

    def chaos(self, p: float, *, kinds: tuple[str, ...] = CHAOS_KINDS, ops: tuple[str, ...] | None = None,
              seed: int | None = 0) -> None:
        """Fail a fraction `p` of requests (of `ops`, default all) with a random one of `kinds`."""
        self._chaos_p, self._chaos_kinds, self._chaos_ops = p, kinds, ops
        self._rng = random.Random(seed)

    def set_price(self, symbol: str, price) -> list[Fill]:
        """The last price of a pair ("BTC/USDT"; swaps share it); fills resting limit orders it crosses."""
        pair = symbol.split(":")[0]
        px = D(str(price))
        self.prices[pair] = px
        out = []
        for o in list(self.orders.values()):
            if o.status != "open" or o.type != "limit" or self._spec(o).pair != pair:
                continue
            if (o.side == "buy" and px <= o.price) or (o.side == "sell" and px >= o.price):
                out.append(self._execute(o, o.price, o.amount - o.filled, maker=True))
        for o in list(self.orders.values()):  # Binance spot stops
            if o.status == "open" and o.type == "stop" and self._spec(o).pair == pair and (
                    (o.side == "buy" and px >= o.trigger) or (o.side == "sell" and px <= o.trigger)):
                out.append(self._execute(o, px, o.amount - o.filled, maker=False))
        for a in list(self.algos.values()):
            if a.status != "open" or self._spec(a).pair != pair:
                continue
            if (a.side == "buy" and px >= a.trigger) or (a.side == "sell" and px <= a.trigger):
                child = self._fire(a, px)
                child.algo_client_id, child.algo_id = a.client_id, a.id
                a.status, a.child, a.filled, a.avg = "filled", child.id, child.filled, child.avg
                out.append(self.fills[-1])
        return out

    def _fire(self, a: Order, price: Decimal) -> Order:
        """The market order a trigger order becomes when the price reaches it (under a new id, no client id)."""
        return self._place(self.accounts[a.api_key], a.inst, a.swap, a.side, "market", a.amount, None, "",
                           a.reduce_only, a.margin_mode)

    def fill(self, order_id: str, amount=None) -> Fill:
        o = self.orders[order_id]
        qty = D(str(amount)) if amount is not None else o.amount - o.filled
        return self._execute(o, o.price or self.prices[self._spec(o).pair], qty, maker=o.type == "limit")

    def duplicates(self) -> dict[str, int]:
        """Client ids that were accepted more than once, with their count."""
        seen: dict[str, int] = {}
        for o in self.created:
            if o.client_id:  # children of trigger orders carry none
                seen[o.client_id] = seen.get(o.client_id, 0) + 1
        return {k: n for k, n in seen.items() if n > 1}

    def count(self, op: str) -> int:
        return sum(1 for _, o, _ in self.requests if o == op)

    # ---- the engine room ----
    def _specs(self, swap: bool | None = None) -> dict[str, Spec]:
        if self.venue == "okx":
            return OKX_SPECS
        return BINANCE_FUTURES_SPECS if swap else BINANCE_SPECS

    def _spec(self, o: Order) -> Spec:
        return self._specs(o.swap)[o.inst]

    def _place(self, acc: Account, inst: str, swap: bool, side: str, type_: str, amount: Decimal,
               price: Decimal | None, client_id: str, reduce_only: bool = False,
               margin_mode: str | None = None) -> Order:
        spec = self._specs(swap).get(inst)
        if spec is None:
            raise Refused("bad_symbol", f"instrument {inst} does not exist")
        if not acc.can_trade:
            raise Refused("permission", "this API key has no trading permission")
        for o in self.orders.values():
            if client_id and o.api_key == acc.api_key and o.client_id == client_id and o.status == "open":
                raise Refused("duplicate", f"duplicated client order id {client_id}")
        if amount <= 0 or amount % spec.lot or amount < spec.min_qty:
            raise Refused("amount", f"order amount {amount} violates lot {spec.lot} / minimum {spec.min_qty}")
        if price is not None and price % spec.tick:
            raise Refused("price", f"price {price} is not a multiple of the tick {spec.tick}")
        ref = price if price is not None else self.prices[spec.pair]
        notional = amount * spec.ct_val * ref
        if spec.min_notional and notional < spec.min_notional:
            raise Refused("notional", f"notional {notional} below {spec.min_notional}")
        self._check_funds(acc, spec, side, amount, ref, reduce_only)
        self._seq += 1
        o = Order(str(100000 + self._seq), client_id, inst, swap, side, type_, amount, price, acc.api_key, _now(),
                  reduce_only, margin_mode)
        self.orders[o.id] = o
        self.created.append(o)
        if type_ == "market":
            self._execute(o, self.prices[spec.pair], amount, maker=False)
        elif type_ == "stop":  # Binance spot STOP_LOSS: rests until set_price reaches its trigger
            pass
        elif (side == "buy" and self.prices[spec.pair] <= price) or (side == "sell" and self.prices[spec.pair] >= price):
            self._execute(o, price, amount, maker=False)
        return o

    def _reserved(self, acc: Account, currency: str) -> Decimal:
        out = ZERO
        for o in self.orders.values():
            if o.api_key != acc.api_key or o.status != "open":
                continue
            spec = self._spec(o)
            rest, px = o.amount - o.filled, o.price or self.prices[spec.pair]
            if o.swap:
                out += rest * spec.ct_val * px / acc.leverage.get(o.inst, 1) if currency == spec.quote else ZERO
            elif o.side == "buy" and currency == spec.quote:
                out += rest * px * (1 + FEE)
            elif o.side == "sell" and currency == spec.base:
                out += rest
        return out

    def _check_funds(self, acc: Account, spec: Spec, side: str, amount: Decimal, ref: Decimal, reduce: bool) -> None:
        if spec.swap:
            if reduce:
                return
            need = amount * spec.ct_val * ref / acc.leverage.get(self._inst_of(spec), 1)
            cur = spec.quote
        elif side == "buy":
            need, cur = amount * ref * (1 + FEE), spec.quote
        else:
            need, cur = amount, spec.base
        if need > acc.balances.get(cur, ZERO) - self._reserved(acc, cur):
            raise Refused("insufficient", f"insufficient {cur} balance")

    def _inst_of(self, spec: Spec) -> str:
        return next(k for k, v in self._specs(spec.swap).items() if v is spec)

    def _execute(self, o: Order, price: Decimal, qty: Decimal, *, maker: bool) -> Fill:
        acc, spec = self.accounts[o.api_key], self._spec(o)
        qty = min(qty, o.amount - o.filled)
        notional = price * qty * spec.ct_val
        fee = notional * FEE
        bal = acc.balances
        if spec.swap:
            pos = acc.positions.setdefault(o.inst, [ZERO, ZERO])
            delta = qty if o.side == "buy" else -qty
            if pos[0] and (pos[0] > 0) != (delta > 0):
                closed = min(abs(delta), abs(pos[0]))
                sign = 1 if pos[0] > 0 else -1
                bal[spec.quote] = bal.get(spec.quote, ZERO) + (price - pos[1]) * closed * spec.ct_val * sign
                pos[0] -= sign * closed
                rest = abs(delta) - closed
                if rest:
                    pos[0], pos[1] = (rest if delta > 0 else -rest), price
            else:
                pos[1] = (pos[1] * abs(pos[0]) + price * qty) / (abs(pos[0]) + qty)
                pos[0] += delta
            bal[spec.quote] = bal.get(spec.quote, ZERO) - fee
        elif o.side == "buy":
            bal[spec.quote] = bal.get(spec.quote, ZERO) - notional - fee
            bal[spec.base] = bal.get(spec.base, ZERO) + qty
        else:
            bal[spec.base] = bal.get(spec.base, ZERO) - qty
            bal[spec.quote] = bal.get(spec.quote, ZERO) + notional - fee
        o.avg = ((o.avg or ZERO) * o.filled + price * qty) / (o.filled + qty)
        o.filled += qty
        o.fee += fee
        if o.filled >= o.amount:
            o.status = "filled"
        f = Fill(str(500000 + len(self.fills) + 1), o, price, qty, fee, maker, _now())
        self.fills.append(f)
        return f

    def _find(self, acc: Account, order_id: str | None, client_id: str | None) -> Order | None:
        if order_id:
            o = self.orders.get(order_id)
            return o if o and o.api_key == acc.api_key else None
        if not client_id:
            return None
        mine = [o for o in self.orders.values() if o.api_key == acc.api_key and o.client_id == client_id]
        return mine[-1] if mine else None

    def _candles(self, pair: str, tf: str) -> list[list]:
        if self.data_dir is None:
            return []
        f = self.data_dir / f"{pair.replace('/', '_')}-{tf}.csv"
        if not f.exists():
            return []
        cache = self.__dict__.setdefault("_candle_cache", {})
        if f not in cache:
            cache[f] = load_csv(f).rows()
        return cache[f]

    # ---- failure injection around every handler ----
    def _pick_failure(self, op: str) -> str | None:
        for plan in self._plans:
            if plan.op in (None, op) and (plan.kind not in ("duplicate", "insufficient") or op == "create"):
                plan.times -= 1
                if plan.times <= 0:
                    self._plans.remove(plan)
                return plan.kind
        if self._chaos_p and (self._chaos_ops is None or op in self._chaos_ops) and self._rng.random() < self._chaos_p:
            return self._rng.choice(self._chaos_kinds)
        return None

    async def _hang(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.hang_seconds)

    def _wrap(self, op: str, handler: Callable[[web.Request, Account | None, dict], Awaitable[web.Response]],
              private: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            body = await request.text()
            try:
                acc, params = self._authenticate(request, body) if private else (None, self._public_params(request,
                                                                                                           body))
            except Refused as e:
                self.requests.append((time.monotonic(), op, ""))
                return self._error(e)
            self.requests.append((time.monotonic(), op, acc.api_key if acc else ""))
            kind = self._pick_failure(op)
            if kind:
                self.injected.append((op, kind))
            if kind == "timeout":
                await self._hang()
                return web.Response(status=504, text="gateway timeout")
            if kind == "rate_limit":
                return self._rate_limited()
            if kind == "server_error":
                return web.Response(status=503, text="<html><body>503 Service Unavailable</body></html>")
            if kind in ("duplicate", "insufficient"):
                params["__force__"] = kind
            try:
                response = await handler(request, acc, params)
            except Refused as e:
                response = self._error(e)
            if kind == "lost":
                await self._hang()
            elif kind == "reset":
                if request.transport is not None:
                    request.transport.abort()
                await self._hang()
            elif kind == "lost_5xx":
                return web.Response(status=503, text="<html><body>503 Service Unavailable</body></html>")
            return response

        return run

    def _public_params(self, request: web.Request, body: str) -> dict:
        return dict(request.query)

    def _authenticate(self, request: web.Request, body: str) -> tuple[Account, dict]:
        return (self._okx_auth if self.venue == "okx" else self._binance_auth)(request, body)

    def _error(self, e: Refused) -> web.Response:
        return (self._okx_error if self.venue == "okx" else self._binance_error)(e)

    def _rate_limited(self) -> web.Response:
        if self.venue == "okx":
            return web.json_response({"code": "50011", "msg": "Too Many Requests", "data": []}, status=429)
        return web.json_response({"code": -1003, "msg": "Too many requests; current limit is 1200 request weight "
                                  "per 1 MINUTE."}, status=429, headers={"Retry-After": f"{self.retry_after:g}"})

    def _forced(self, params: dict) -> None:
        kind = params.pop("__force__", None)
        if kind == "duplicate":
            raise Refused("duplicate", "duplicated client order id")
        if kind == "insufficient":
            raise Refused("insufficient", "insufficient balance")

    # =============================== OKX v5 ===============================
    def _okx_auth(self, request: web.Request, body: str) -> tuple[Account, dict]:
        h = request.headers
        acc = self.accounts.get(h.get("OK-ACCESS-KEY", ""))
        if acc is None:  # echoes what it got, as some venues do: the client must scrub it
            raise Refused("50111", f"Invalid OK-ACCESS-KEY {h.get('OK-ACCESS-KEY', '')}", 401)
        if h.get("OK-ACCESS-PASSPHRASE") != acc.passphrase:
            raise Refused("50105", "OK-ACCESS-PASSPHRASE incorrect", 401)
        if (h.get("x-simulated-trading") == "1") != acc.demo:  # demo keys live in Demo Trading only, and back
            raise Refused("50101", "APIKey does not match current environment.", 401)
        prehash = h.get("OK-ACCESS-TIMESTAMP", "") + request.method + request.raw_path + body
        want = base64.b64encode(hmac.new(acc.secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(want, h.get("OK-ACCESS-SIGN", "")):
            raise Refused("50113", "Invalid Sign", 401)
        params = dict(request.query)
        if body:
            parsed = json.loads(body)
            params = {"__list__": parsed} if isinstance(parsed, list) else {**params, **parsed}
        return acc, params

    def _okx_error(self, e: Refused) -> web.Response:
        code = OKX_CODES.get(e.code, e.code)
        return web.json_response({"code": code, "msg": e.msg, "data": []}, status=e.status)

    @staticmethod
    def _ok(data: list) -> web.Response:
        return web.json_response({"code": "0", "msg": "", "data": data})

    def _okx_routes(self, app: web.Application) -> None:
        p = "/api/v5"
        get, post = app.router.add_get, app.router.add_post
        get(f"{p}/public/instruments", self._wrap("markets", self._okx_instruments, False))
        get(f"{p}/public/time", self._wrap("time", lambda r, a, q: self._aok([{"ts": str(_now())}]), False))
        get(f"{p}/market/ticker", self._wrap("ticker", self._okx_ticker, False))
        get(f"{p}/market/candles", self._wrap("ohlcv", self._okx_candles, False))
        get(f"{p}/market/history-candles", self._wrap("ohlcv", self._okx_candles, False))
        get(f"{p}/account/balance", self._wrap("balance", self._okx_balance, True))
        get(f"{p}/account/positions", self._wrap("positions", self._okx_positions, True))
        get(f"{p}/account/config", self._wrap("config", self._okx_config, True))
        post(f"{p}/account/set-leverage", self._wrap("leverage", self._okx_set_leverage, True))
        post(f"{p}/account/set-position-mode", self._wrap("position_mode", self._okx_position_mode, True))
        post(f"{p}/trade/order", self._wrap("create", self._okx_create, True))
        post(f"{p}/trade/batch-orders", self._wrap("create", self._okx_create, True))
        post(f"{p}/trade/cancel-order", self._wrap("cancel", self._okx_cancel, True))
        get(f"{p}/trade/order", self._wrap("fetch_order", self._okx_fetch_order, True))
        get(f"{p}/trade/orders-pending", self._wrap("open_orders", self._okx_open_orders, True))
        get(f"{p}/trade/fills", self._wrap("trades", self._okx_fills, True))
        post(f"{p}/trade/order-algo", self._wrap("create", self._okx_create_algo, True))
        get(f"{p}/trade/order-algo", self._wrap("fetch_order", self._okx_fetch_algo, True))
        get(f"{p}/trade/orders-algo-pending", self._wrap("open_orders", self._okx_algos_pending, True))
        post(f"{p}/trade/cancel-algos", self._wrap("cancel", self._okx_cancel_algos, True))
        get(f"{p}/trade/fills-history", self._wrap("trades", self._okx_fills, True))

    async def _aok(self, data: list) -> web.Response:
        return self._ok(data)

    async def _okx_instruments(self, request, acc, q) -> web.Response:
        kind = q.get("instType", "")
        out = []
        for inst, s in OKX_SPECS.items():
            if kind != ("SWAP" if s.swap else "SPOT"):
                continue
            out.append({
                "instType": kind, "instId": inst, "baseCcy": "" if s.swap else s.base,
                "quoteCcy": "" if s.swap else s.quote, "settleCcy": s.quote if s.swap else "",
                "ctVal": _s(s.ct_val) if s.swap else "", "ctMult": "1" if s.swap else "",
                "ctValCcy": s.base if s.swap else "", "ctType": "linear" if s.swap else "",
                "uly": f"{s.base}-{s.quote}" if s.swap else "", "instFamily": f"{s.base}-{s.quote}" if s.swap else "",
                "tickSz": _s(s.tick), "lotSz": _s(s.lot), "minSz": _s(s.min_qty), "state": "live",
                "listTime": "1548133413000", "lever": "100" if s.swap else "10", "maxLmtSz": "9999999999",
                "maxMktSz": "1000000", "expTime": "", "ruleType": "normal",
            })
        return self._ok(out)

    def _okx_order_json(self, o: Order) -> dict:
        state = {"open": "partially_filled" if o.filled else "live", "filled": "filled", "canceled": "canceled"}
        return {
            "instType": "SWAP" if o.swap else "SPOT", "instId": o.inst, "ordId": o.id, "clOrdId": o.client_id,
            "px": _s(o.price), "sz": _s(o.amount), "ordType": o.type, "side": o.side, "posSide": "net",
            "tdMode": o.margin_mode or "cash", "accFillSz": _s(o.filled), "fillSz": _s(o.filled),
            "avgPx": _s(o.avg), "state": state[o.status], "fee": _s(-o.fee), "feeCcy": "USDT",
            "reduceOnly": "true" if o.reduce_only else "false", "cTime": str(o.ts), "uTime": str(_now()),
            "lever": "", "tag": "", "category": "normal", "algoClOrdId": o.algo_client_id, "algoId": o.algo_id,
        }

    def _okx_algo_json(self, a: Order) -> dict:
        state = {"open": "live", "filled": "effective", "canceled": "canceled"}
        return {
            "instType": "SWAP" if a.swap else "SPOT", "instId": a.inst, "algoId": a.id, "algoClOrdId": a.client_id,
            "clOrdId": "", "ordType": "trigger", "side": a.side, "posSide": "net", "sz": _s(a.amount),
            "triggerPx": _s(a.trigger), "triggerPxType": "last", "orderPx": "-1", "state": state[a.status],
            "actualSz": _s(a.filled) if a.child else "", "actualPx": _s(a.avg) if a.child else "",
            "ordId": a.child, "tdMode": a.margin_mode or "cash", "reduceOnly": "true" if a.reduce_only else "false",
            "cTime": str(a.ts), "uTime": str(_now()), "tag": "",
        }

    async def _okx_create_algo(self, request, acc, q) -> web.Response:
        """POST /trade/order-algo: only `algoClOrdId` names a trigger order (a `clOrdId` is ignored, as on OKX)."""
        cid = q.get("algoClOrdId", "")
        try:
            self._forced(q)
            spec = OKX_SPECS.get(q.get("instId", ""))
            if spec is None:
                raise Refused("bad_symbol", "instrument does not exist")
            if q.get("ordType") != "trigger" or not q.get("triggerPx"):
                raise Refused("price", "only trigger orders with a triggerPx are simulated")
            if not acc.can_trade:
                raise Refused("permission", "this API key has no trading permission")
            if cid and any(a.client_id == cid and a.status == "open" and a.api_key == acc.api_key
                           for a in self.algos.values()):
                raise Refused("duplicate", f"duplicated algo client order id {cid}")
            amount = D(q["sz"])
            if amount % spec.lot or amount < spec.min_qty:
                raise Refused("amount", f"order amount {amount} violates lot {spec.lot} / minimum {spec.min_qty}")
        except Refused as e:
            return web.json_response({"code": "1", "msg": "Operation failed.", "data": [
                {"algoId": "", "algoClOrdId": cid, "sCode": OKX_CODES.get(e.code, "51000"), "sMsg": e.msg}]})
        self._seq += 1
        a = Order(str(900000 + self._seq), cid, q["instId"], spec.swap, q["side"], "trigger", amount, None,
                  acc.api_key, _now(), str(q.get("reduceOnly", "")).lower() == "true", q.get("tdMode"),
                  trigger=D(q["triggerPx"]))
        self.algos[a.id] = a
        self.created.append(a)
        return self._ok([{"algoId": a.id, "algoClOrdId": cid, "clOrdId": q.get("clOrdId", ""), "sCode": "0",
                          "sMsg": ""}])

    def _find_algo(self, acc: Account, q: dict) -> Order | None:
        for a in self.algos.values():
            if a.api_key == acc.api_key and (a.id == q.get("algoId") or (q.get("algoClOrdId") and
                                                                          a.client_id == q.get("algoClOrdId"))):
                return a
        return None

    async def _okx_fetch_algo(self, request, acc, q) -> web.Response:
        a = self._find_algo(acc, q)
        if a is None:
            raise Refused("not_found", "Order does not exist")
        return self._ok([self._okx_algo_json(a)])

    async def _okx_algos_pending(self, request, acc, q) -> web.Response:
        return self._ok([self._okx_algo_json(a) for a in self.algos.values()
                         if a.api_key == acc.api_key and a.status == "open" and q.get("instId") in (None, a.inst)])

    async def _okx_cancel_algos(self, request, acc, q) -> web.Response:
        out, failed = [], False
        for item in q.get("__list__") or [q]:
            a = self._find_algo(acc, {"algoId": item.get("algoId")})
            if a is None or a.status != "open":
                failed = True
                out.append({"algoId": item.get("algoId", ""), "sCode": "51400", "sMsg": "Order does not exist"})
            else:
                a.status = "canceled"
                out.append({"algoId": a.id, "algoClOrdId": a.client_id, "sCode": "0", "sMsg": ""})
        if failed:
            return web.json_response({"code": "1", "msg": "Operation failed.", "data": out})
        return self._ok(out)

    async def _okx_ticker(self, request, acc, q) -> web.Response:
        inst = q.get("instId", "")
        s = OKX_SPECS.get(inst)
        if s is None:
            raise Refused("bad_symbol", f"instrument {inst} does not exist")
        px = _s(self.prices[s.pair])
        return self._ok([{"instType": "SWAP" if s.swap else "SPOT", "instId": inst, "last": px, "lastSz": "1",
                          "askPx": px, "askSz": "1", "bidPx": px, "bidSz": "1", "open24h": px, "high24h": px,
                          "low24h": px, "volCcy24h": "0", "vol24h": "0", "ts": str(_now()), "sodUtc0": px,
                          "sodUtc8": px}])

    async def _okx_candles(self, request, acc, q) -> web.Response:
        s = OKX_SPECS[q["instId"]]
        tf = q.get("bar", "1m").lower()
        rows = self._candles(s.pair, tf)
        after, before, limit = int(q.get("after", 10**15)), int(q.get("before", -1)), int(q.get("limit", 100))
        sel = [r for r in rows if before < r[0] < after]
        sel = sel[:limit] if "before" in q else sel[-limit:]
        return self._ok([[str(int(r[0])), *map(str, r[1:6]), "0", "0", "1"] for r in reversed(sel)])

    async def _okx_balance(self, request, acc, q) -> web.Response:
        details = []
        for cur, amt in acc.balances.items():
            used = self._reserved(acc, cur)
            details.append({"ccy": cur, "eq": _s(amt), "cashBal": _s(amt), "availBal": _s(amt - used),
                            "availEq": _s(amt - used), "frozenBal": _s(used), "ordFrozen": _s(used),
                            "uTime": str(_now())})
        return self._ok([{"totalEq": "0", "details": details, "uTime": str(_now())}])

    async def _okx_positions(self, request, acc, q) -> web.Response:
        out = []
        for inst, (qty, entry) in acc.positions.items():
            if not qty:
                continue
            s = OKX_SPECS[inst]
            mark = self.prices[s.pair]
            out.append({"instType": "SWAP", "instId": inst, "pos": _s(qty), "posSide": "net", "avgPx": _s(entry),
                        "markPx": _s(mark), "lever": str(acc.leverage.get(inst, 1)),
                        "mgnMode": acc.margin_mode.get(inst, "cross"), "liqPx": "",
                        "upl": _s((mark - entry) * qty * s.ct_val), "notionalUsd": _s(abs(qty) * s.ct_val * mark),
                        "cTime": str(_now()), "uTime": str(_now()), "ccy": "USDT", "margin": "", "imr": "",
                        "mmr": "", "realizedPnl": "0"})
        return self._ok(out)

    async def _okx_config(self, request, acc, q) -> web.Response:
        perm = ",".join(["read_only", *(["trade"] if acc.can_trade else []), *(["withdraw"] if acc.can_withdraw
                                                                                 else [])])
        return self._ok([{"uid": "1", "acctLv": "2", "posMode": acc.pos_mode, "perm": perm, "label": "tb",
                          "level": "Lv1", "autoLoan": False, "ctIsoMode": "automatic", "mgnIsoMode": "automatic"}])

    async def _okx_set_leverage(self, request, acc, q) -> web.Response:
        lev, mode, inst = int(q["lever"]), q.get("mgnMode"), q.get("instId", "")
        if mode not in ("cross", "isolated") or not 1 <= lev <= 100:
            raise Refused("leverage", f"bad leverage {lev} / margin mode {mode}")
        acc.leverage[inst], acc.margin_mode[inst] = lev, mode
        return self._ok([{"lever": str(lev), "mgnMode": mode, "instId": inst, "posSide": "net"}])

    async def _okx_position_mode(self, request, acc, q) -> web.Response:
        acc.pos_mode = q["posMode"]
        return self._ok([{"posMode": acc.pos_mode}])

    async def _okx_create(self, request, acc, q) -> web.Response:
        items = q.get("__list__") or [q]
        out, failed = [], False
        for item in items:
            try:
                self._forced(q)
                inst = item["instId"]
                spec = OKX_SPECS.get(inst)
                sz = D(item["sz"])
                if item.get("tgtCcy") == "quote_ccy" and spec and item["ordType"] == "market" and item["side"] == "buy":
                    sz = (sz / self.prices[spec.pair]).quantize(spec.lot)
                o = self._place(acc, inst, bool(spec and spec.swap), item["side"], item["ordType"], sz,
                                D(item["px"]) if item.get("px") else None, item.get("clOrdId", ""),
                                str(item.get("reduceOnly", "")).lower() == "true", item.get("tdMode"))
                out.append({"clOrdId": o.client_id, "ordId": o.id, "tag": "", "ts": str(o.ts), "sCode": "0",
                            "sMsg": "Order placed"})
            except Refused as e:
                failed = True
                out.append({"clOrdId": item.get("clOrdId", ""), "ordId": "", "tag": "",
                            "sCode": OKX_CODES.get(e.code, "51000"), "sMsg": e.msg})
        if failed:
            return web.json_response({"code": "1", "msg": "Operation failed.", "data": out})
        return self._ok(out)

    async def _okx_cancel(self, request, acc, q) -> web.Response:
        o = self._find(acc, q.get("ordId"), q.get("clOrdId"))
        if o is None or o.status != "open":
            return web.json_response({"code": "1", "msg": "Operation failed.", "data": [
                {"clOrdId": q.get("clOrdId", ""), "ordId": q.get("ordId", ""), "sCode": "51400",
                 "sMsg": "Cancellation failed as the order does not exist."}]})
        o.status = "canceled"
        return self._ok([{"clOrdId": o.client_id, "ordId": o.id, "sCode": "0", "sMsg": ""}])

    async def _okx_fetch_order(self, request, acc, q) -> web.Response:
        o = self._find(acc, q.get("ordId"), q.get("clOrdId"))
        if o is None or o.inst != q.get("instId") or (not q.get("ordId") and not q.get("clOrdId")):
            raise Refused("not_found", "Order does not exist")
        return self._ok([self._okx_order_json(o)])

    async def _okx_open_orders(self, request, acc, q) -> web.Response:
        return self._ok([self._okx_order_json(o) for o in self.orders.values()
                         if o.api_key == acc.api_key and o.status == "open"
                         and q.get("instId") in (None, o.inst)])

    async def _okx_fills(self, request, acc, q) -> web.Response:
        out = []
        for f in self.fills:
            o = f.order
            if o.api_key != acc.api_key or q.get("instId") not in (None, o.inst):
                continue
            if ("begin" in q and f.ts < int(q["begin"])) or ("end" in q and f.ts > int(q["end"])):
                continue
            out.append({"instType": "SWAP" if o.swap else "SPOT", "instId": o.inst, "tradeId": f.id, "ordId": o.id,
                        "clOrdId": o.client_id, "billId": f.id, "fillPx": _s(f.price), "fillSz": _s(f.amount),
                        "side": o.side, "posSide": "net", "execType": "M" if f.maker else "T", "feeCcy": "USDT",
                        "fee": _s(-f.fee), "ts": str(f.ts), "fillTime": str(f.ts), "tag": ""})
        out.reverse()  # newest first, as OKX does
        return self._ok(out[: int(q.get("limit", 100))])

    # =============================== Binance ===============================
    def _binance_auth(self, request: web.Request, body: str) -> tuple[Account, dict]:
        acc = self.accounts.get(request.headers.get("X-MBX-APIKEY", ""))
        if acc is None:  # echoes the key it got: the client must scrub it
            raise Refused("-2015", f"Invalid API-key {request.headers.get('X-MBX-APIKEY', '')}, IP, or permissions "
                          "for action.", 401)
        raw = body if request.method in ("POST", "PUT") else request.raw_path.partition("?")[2]
        payload, _, sig = raw.rpartition("&signature=")
        want = hmac.new(acc.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            raise Refused("-1022", "Signature for this request is not valid.", 400)
        return acc, dict(parse_qsl(payload))

    def _binance_error(self, e: Refused) -> web.Response:
        code, msg = BINANCE_CODES.get(e.code, (int(e.code) if e.code.lstrip("-").isdigit() else -1000, e.msg))
        return web.json_response({"code": code, "msg": msg}, status=e.status if e.status != 200 else 400)

    def _binance_routes(self, app: web.Application) -> None:
        for prefix, swap in (("/api/v3", False), ("/fapi/v1", True)):
            add = app.router.add_route
            add("GET", f"{prefix}/exchangeInfo", self._wrap("markets", self._bn(self._bn_info, swap), False))
            add("GET", f"{prefix}/time", self._wrap("time", self._bn(self._bn_time, swap), False))
            add("GET", f"{prefix}/ticker/24hr", self._wrap("ticker", self._bn(self._bn_ticker, swap), False))
            add("GET", f"{prefix}/klines", self._wrap("ohlcv", self._bn(self._bn_klines, swap), False))
            add("POST", f"{prefix}/order", self._wrap("create", self._bn(self._bn_create, swap), True))
            add("DELETE", f"{prefix}/order", self._wrap("cancel", self._bn(self._bn_cancel, swap), True))
            add("GET", f"{prefix}/order", self._wrap("fetch_order", self._bn(self._bn_fetch_order, swap), True))
            add("GET", f"{prefix}/openOrders", self._wrap("open_orders", self._bn(self._bn_open_orders, swap), True))
        app.router.add_get("/api/v3/account", self._wrap("balance", self._bn(self._bn_account, False), True))
        app.router.add_get("/api/v3/myTrades", self._wrap("trades", self._bn(self._bn_trades, False), True))
        app.router.add_get("/fapi/v1/userTrades", self._wrap("trades", self._bn(self._bn_trades, True), True))
        for path in ("/fapi/v2/account", "/fapi/v3/account"):
            app.router.add_get(path, self._wrap("balance", self._bn(self._bn_account, True), True))
        for path in ("/fapi/v2/positionRisk", "/fapi/v3/positionRisk"):
            app.router.add_get(path, self._wrap("positions", self._bn(self._bn_positions, True), True))
        app.router.add_get("/fapi/v1/leverageBracket", self._wrap("positions", self._bn(self._bn_brackets, True),
                                                                    True))
        app.router.add_post("/fapi/v1/leverage", self._wrap("leverage", self._bn(self._bn_leverage, True), True))
        app.router.add_post("/fapi/v1/marginType", self._wrap("leverage", self._bn(self._bn_margin_type, True), True))
        app.router.add_post("/fapi/v1/positionSide/dual",
                            self._wrap("position_mode", self._bn(self._bn_dual, True), True))
        algo = "/fapi/v1/algoOrder"
        app.router.add_post(algo, self._wrap("create", self._bn(self._bn_create_algo, True), True))
        app.router.add_get(algo, self._wrap("fetch_order", self._bn(self._bn_fetch_algo, True), True))
        app.router.add_delete(algo, self._wrap("cancel", self._bn(self._bn_cancel_algo, True), True))
        app.router.add_get("/fapi/v1/openAlgoOrders", self._wrap("open_orders", self._bn(self._bn_open_algos, True),
                                                                 True))
        app.router.add_get("/sapi/v1/account/apiRestrictions", self._wrap("key_info", self._bn_restrictions, True))

    def _bn(self, fn, swap: bool):
        async def call(request, acc, q):
            return await fn(acc, q, swap)
        return call

    async def _bn_time(self, acc, q, swap) -> web.Response:
        return web.json_response({"serverTime": _now()})

    async def _bn_info(self, acc, q, swap) -> web.Response:
        symbols = []
        for sid, s in self._specs(swap).items():
            filters = [{"filterType": "PRICE_FILTER", "minPrice": _s(s.tick), "maxPrice": "1000000",
                        "tickSize": _s(s.tick)},
                       {"filterType": "LOT_SIZE", "minQty": _s(s.min_qty), "maxQty": "9000", "stepSize": _s(s.lot)},
                       {"filterType": "MARKET_LOT_SIZE", "minQty": _s(s.min_qty), "maxQty": "1000",
                        "stepSize": _s(s.lot)}]
            if swap:
                filters.append({"filterType": "MIN_NOTIONAL", "notional": _s(s.min_notional)})
                symbols.append({"symbol": sid, "pair": sid, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
                                "onboardDate": 1569398400000, "status": "TRADING", "baseAsset": s.base,
                                "quoteAsset": s.quote, "marginAsset": s.quote, "pricePrecision": 2,
                                "quantityPrecision": 3, "baseAssetPrecision": 8, "quotePrecision": 8,
                                "underlyingType": "COIN", "settlePlan": 0, "triggerProtect": "0.0500",
                                "filters": filters, "orderTypes": ["LIMIT", "MARKET", "STOP_MARKET"],
                                "timeInForce": ["GTC", "IOC", "FOK", "GTX"]})
            else:
                filters.append({"filterType": "NOTIONAL", "minNotional": _s(s.min_notional), "applyMinToMarket": True,
                                "maxNotional": "9000000", "applyMaxToMarket": False, "avgPriceMins": 5})
                symbols.append({"symbol": sid, "status": "TRADING", "baseAsset": s.base, "baseAssetPrecision": 8,
                                "quoteAsset": s.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
                                               "TAKE_PROFIT_LIMIT"],
                                "icebergAllowed": True, "ocoAllowed": True, "isSpotTradingAllowed": True,
                                "isMarginTradingAllowed": False, "filters": filters, "permissions": ["SPOT"],
                                "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                                "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"]})
        return web.json_response({"timezone": "UTC", "serverTime": _now(), "rateLimits": [], "exchangeFilters": [],
                                  "symbols": symbols})

    async def _bn_ticker(self, acc, q, swap) -> web.Response:
        s = self._specs(swap).get(q.get("symbol", ""))
        if s is None:
            raise Refused("bad_symbol", "Invalid symbol.")
        px = _s(self.prices[s.pair])
        return web.json_response({"symbol": q["symbol"], "lastPrice": px, "bidPrice": px, "askPrice": px,
                                  "openPrice": px, "highPrice": px, "lowPrice": px, "volume": "0",
                                  "quoteVolume": "0", "openTime": _now() - 86_400_000, "closeTime": _now(),
                                  "priceChange": "0", "priceChangePercent": "0", "weightedAvgPrice": px,
                                  "count": 0})

    async def _bn_klines(self, acc, q, swap) -> web.Response:
        s = self._specs(swap)[q["symbol"]]
        rows = self._candles(s.pair, q.get("interval", "1m"))
        start, end, limit = int(q.get("startTime", -1)), int(q.get("endTime", 10**15)), int(q.get("limit", 500))
        sel = [r for r in rows if start <= r[0] <= end]
        sel = sel[:limit] if "startTime" in q else sel[-limit:]
        return web.json_response([[int(r[0]), *map(str, r[1:5]), str(r[5]), int(r[0]) + 59_999, "0", 0, "0", "0",
                                   "0"] for r in sel])

    def _bn_order_json(self, o: Order) -> dict:
        status = {"open": "PARTIALLY_FILLED" if o.filled else "NEW", "filled": "FILLED", "canceled": "CANCELED"}
        spec = self._spec(o)
        otype = "STOP_LOSS" if o.type == "stop" else o.type.upper()
        return {"symbol": o.inst, "orderId": int(o.id), "orderListId": -1, "clientOrderId": o.client_id,
                "price": _s(o.price or ZERO), "origQty": _s(o.amount), "executedQty": _s(o.filled),
                "cummulativeQuoteQty": _s(o.filled * (o.avg or ZERO) * spec.ct_val), "cumQuote": _s(
                    o.filled * (o.avg or ZERO) * spec.ct_val), "avgPrice": _s(o.avg or ZERO),
                "status": status[o.status], "timeInForce": "GTC", "type": otype, "side": o.side.upper(),
                "stopPrice": _s(o.trigger or ZERO), "time": o.ts, "updateTime": _now(), "transactTime": o.ts, "isWorking": True,
                "reduceOnly": o.reduce_only, "positionSide": "BOTH", "workingType": "CONTRACT_PRICE"}

    async def _bn_create(self, acc, q, swap) -> web.Response:
        self._forced(q)
        kind = q["type"].lower()
        if kind == "stop_loss" and not swap:
            if not q.get("stopPrice"):
                raise Refused("price", "STOP_LOSS needs a stopPrice")
            kind = "stop"
        elif kind not in ("market", "limit"):
            raise Refused("price", f"order type {q['type']} is not simulated here")
        o = self._place(acc, q["symbol"], swap, q["side"].lower(), kind, D(q["quantity"]),
                        D(q["price"]) if q.get("price") else None, q.get("newClientOrderId", ""),
                        q.get("reduceOnly", "false").lower() == "true")
        if kind == "stop":
            o.trigger = D(q["stopPrice"])
        return web.json_response(self._bn_order_json(o))

    async def _bn_cancel(self, acc, q, swap) -> web.Response:
        o = self._find(acc, q.get("orderId"), q.get("origClientOrderId"))
        if o is None or o.status != "open":
            raise Refused("cancel_not_found", "Unknown order sent.")
        o.status = "canceled"
        return web.json_response(self._bn_order_json(o))

    async def _bn_fetch_order(self, acc, q, swap) -> web.Response:
        o = self._find(acc, q.get("orderId"), q.get("origClientOrderId"))
        if o is None or o.inst != q.get("symbol") or o.swap != swap:
            raise Refused("not_found", "Order does not exist.")
        return web.json_response(self._bn_order_json(o))

    async def _bn_open_orders(self, acc, q, swap) -> web.Response:
        return web.json_response([self._bn_order_json(o) for o in self.orders.values()
                                  if o.api_key == acc.api_key and o.status == "open" and o.swap == swap
                                  and q.get("symbol") in (None, o.inst)])

    async def _bn_trades(self, acc, q, swap) -> web.Response:
        out = []
        for f in self.fills:
            o = f.order
            if o.api_key != acc.api_key or o.swap != swap or o.inst != q.get("symbol"):
                continue
            if f.ts < int(q.get("startTime", 0)):
                continue
            out.append({"symbol": o.inst, "id": int(f.id), "orderId": int(o.id), "orderListId": -1,
                        "price": _s(f.price), "qty": _s(f.amount), "quoteQty": _s(f.price * f.amount),
                        "commission": _s(f.fee), "commissionAsset": "USDT", "time": f.ts,
                        "isBuyer": o.side == "buy", "buyer": o.side == "buy", "isMaker": f.maker, "maker": f.maker,
                        "isBestMatch": True, "side": o.side.upper(), "positionSide": "BOTH", "realizedPnl": "0"})
        return web.json_response(out[: int(q.get("limit", 500))])

    async def _bn_account(self, acc, q, swap) -> web.Response:
        if swap:
            usdt = acc.balances.get("USDT", ZERO)
            used = self._reserved(acc, "USDT")
            return web.json_response({"assets": [{"asset": "USDT", "walletBalance": _s(usdt), "marginBalance":
                                                  _s(usdt), "availableBalance": _s(usdt - used),
                                                  "unrealizedProfit": "0", "updateTime": _now()}],
                                      "positions": [], "canTrade": acc.can_trade, "updateTime": _now()})
        return web.json_response({
            "makerCommission": 10, "takerCommission": 10, "canTrade": acc.can_trade,
            "canWithdraw": acc.can_withdraw, "canDeposit": True, "updateTime": _now(), "accountType": "SPOT",
            "permissions": ["SPOT"],
            "balances": [{"asset": c, "free": _s(a - self._reserved(acc, c)), "locked": _s(self._reserved(acc, c))}
                         for c, a in acc.balances.items()]})

    async def _bn_positions(self, acc, q, swap) -> web.Response:
        out = []
        for sid, (qty, entry) in acc.positions.items():
            s = BINANCE_FUTURES_SPECS[sid]
            mark = self.prices[s.pair]
            out.append({"symbol": sid, "positionAmt": _s(qty), "entryPrice": _s(entry), "markPrice": _s(mark),
                        "unRealizedProfit": _s((mark - entry) * qty), "liquidationPrice": "0",
                        "leverage": str(acc.leverage.get(sid, 1)), "marginType": acc.margin_mode.get(sid, "cross"),
                        "positionSide": "BOTH", "notional": _s(qty * mark), "isolatedWallet": "0",
                        "updateTime": _now()})
        return web.json_response(out)

    async def _bn_brackets(self, acc, q, swap) -> web.Response:
        return web.json_response([{"symbol": sid, "brackets": [
            {"bracket": 1, "initialLeverage": 125, "notionalCap": 50000000, "notionalFloor": 0,
             "maintMarginRatio": 0.004, "cum": 0}]} for sid in BINANCE_FUTURES_SPECS])

    async def _bn_leverage(self, acc, q, swap) -> web.Response:
        if not 1 <= int(q["leverage"]) <= 125:
            raise Refused("-4028", f"Leverage {q['leverage']} is not valid")
        acc.leverage[q["symbol"]] = int(q["leverage"])
        return web.json_response({"symbol": q["symbol"], "leverage": int(q["leverage"]),
                                  "maxNotionalValue": "1000000"})

    async def _bn_margin_type(self, acc, q, swap) -> web.Response:
        acc.margin_mode[q["symbol"]] = q["marginType"].lower().replace("crossed", "cross")
        return web.json_response({"code": 200, "msg": "success"})

    async def _bn_dual(self, acc, q, swap) -> web.Response:
        acc.pos_mode = "long_short_mode" if q.get("dualSidePosition") == "true" else "net_mode"
        return web.json_response({"code": 200, "msg": "success"})

    def _bn_algo_json(self, a: Order) -> dict:
        status = {"open": "NEW", "filled": "FINISHED", "canceled": "CANCELED"}
        return {"algoId": int(a.id), "clientAlgoId": a.client_id, "algoType": "CONDITIONAL",
                "orderType": "STOP_MARKET", "symbol": a.inst, "side": a.side.upper(), "positionSide": "BOTH",
                "timeInForce": "GTC", "quantity": _s(a.amount), "algoStatus": status[a.status],
                "triggerPrice": _s(a.trigger), "price": "0", "workingType": "CONTRACT_PRICE",
                "closePosition": False, "priceProtect": False, "reduceOnly": a.reduce_only, "createTime": a.ts,
                "updateTime": _now(), "triggerTime": 0, "goodTillDate": 0, "actualOrderId": a.child}

    async def _bn_create_algo(self, acc, q, swap) -> web.Response:
        """POST /fapi/v1/algoOrder: USDT-M conditional orders, named by `clientAlgoId`."""
        self._forced(q)
        spec = BINANCE_FUTURES_SPECS.get(q.get("symbol", ""))
        if spec is None:
            raise Refused("bad_symbol", "Invalid symbol.")
        if q.get("algoType") != "CONDITIONAL" or not q.get("triggerPrice"):
            raise Refused("price", "only CONDITIONAL orders with a triggerPrice are simulated")
        cid = q.get("clientAlgoId", "")
        if cid and any(a.client_id == cid and a.status == "open" and a.api_key == acc.api_key
                       for a in self.algos.values()):
            raise Refused("duplicate", "Duplicate order sent.")
        amount = D(q["quantity"])
        if amount % spec.lot or amount < spec.min_qty:
            raise Refused("amount", "Filter failure: LOT_SIZE")
        self._seq += 1
        a = Order(str(900000 + self._seq), cid, q["symbol"], True, q["side"].lower(), "trigger", amount, None,
                  acc.api_key, _now(), q.get("reduceOnly", "false").lower() == "true", trigger=D(q["triggerPrice"]))
        self.algos[a.id] = a
        self.created.append(a)
        return web.json_response(self._bn_algo_json(a))

    def _bn_find_algo(self, acc: Account, q: dict) -> Order | None:
        for a in self.algos.values():
            if a.api_key == acc.api_key and (a.id == q.get("algoId") or (q.get("clientAlgoId") and
                                                                          a.client_id == q.get("clientAlgoId"))):
                return a
        return None

    async def _bn_fetch_algo(self, acc, q, swap) -> web.Response:
        a = self._bn_find_algo(acc, q)
        if a is None:
            raise Refused("not_found", "Order does not exist.")
        return web.json_response(self._bn_algo_json(a))

    async def _bn_cancel_algo(self, acc, q, swap) -> web.Response:
        a = self._bn_find_algo(acc, q)
        if a is None or a.status != "open":
            raise Refused("cancel_not_found", "Unknown order sent.")
        a.status = "canceled"
        return web.json_response({"algoId": int(a.id), "clientAlgoId": a.client_id, "code": "200", "msg": "success"})

    async def _bn_open_algos(self, acc, q, swap) -> web.Response:
        return web.json_response([self._bn_algo_json(a) for a in self.algos.values()
                                  if a.api_key == acc.api_key and a.status == "open"
                                  and q.get("symbol") in (None, a.inst)])

    async def _bn_restrictions(self, request, acc, q) -> web.Response:
        return web.json_response({"ipRestrict": False, "createTime": _now(), "enableReading": True,
                                  "enableSpotAndMarginTrading": acc.can_trade, "enableWithdrawals": acc.can_withdraw,
                                  "enableInternalTransfer": False, "enableMargin": False, "enableFutures": acc.can_trade,
                                  "permitsUniversalTransfer": False, "enableVanillaOptions": False,
                                  "enablePortfolioMarginTrading": False})
