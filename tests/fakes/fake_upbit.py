"""The fake exchange speaking Upbit's REST API (KRW and USDT spot markets) for real ccxt.

What it models of Upbit:
- Auth: a JWT (HS256 over the secret) carrying `access_key`, a `nonce` never used before and, when the request has
  parameters, `query_hash` = SHA512 hex of the unencoded query string (of the JSON body's fields for a POST). A bad
  signature is 401 `jwt_verification`, an unknown key `invalid_access_key`, a wrong hash `invalid_query_payload`, a
  reused nonce `nonce_used`; every refusal is Upbit's shape `{"error": {"name": ..., "message": ...}}`.
- Markets (`/v1/market/all`, ids quote-base: `KRW-BTC`): the price decides the tick (KRW_TICKS, Upbit's KRW table
  as of 2025-07-31; USDT_TICKS) and an order's total must reach MIN_TOTAL (5,000 KRW, 0.5 USDT);
  `/v1/orderbook/instruments` publishes each market's tick at its current price.
- Orders (`POST /v1/orders`): `limit` (price + volume), a market buy as a quote total (`ord_type=price`), a market
  sell by volume (`ord_type=market`). The answer is the order as accepted (`wait`, nothing executed), before any
  matching. An `identifier` (client id) is unique among all of the account's orders, finished or refused ones
  included (Upbit: never resend one); its refusal's name is not published, here `validation_error`. A market buy
  whose total does not divide into whole 1e-8 units ends `cancel` with its volume executed, as on Upbit.
- Lookups: `GET /v1/order` by `uuid` or `identifier` (with the order's `trades`), `DELETE /v1/order` (answers the
  order as it was: `wait`), `/v1/orders/open` (pages of at most 100), `/v1/orders/closed` (by creation time, a
  window of at most 7 days, at most 1,000). There is no fills endpoint: fills are the orders' `trades`, with no fee
  of their own (the order's `paid_fee`). Fees: 0.05 % on KRW markets, 0.25 % elsewhere, in the quote coin.
- No stop orders at all. A 429 is plain text with a `Remaining-Req` header.

KRW candles are read from `<BASE>_KRW-<tf>.csv`, else the `<BASE>_USDT` file with prices × KRW_PER_USDT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.fake_exchange import ZERO, Account, FakeExchange, Fill, Order, Refused, Spec, _now, _s

D = Decimal
KST = timezone(timedelta(hours=9))
KRW_PER_USDT = D(1500)
VOLUME_STEP = D("0.00000001")
# (price at or above, tick), highest band first
KRW_TICKS = [(D(2_000_000), D(1000)), (D(1_000_000), D(1000)), (D(500_000), D(500)), (D(100_000), D(100)),
             (D(50_000), D(50)), (D(10_000), D(10)), (D(5_000), D(5)), (D(1_000), D(1)), (D(100), D(1)),
             (D(10), D("0.01")), (D(1), D("0.001")), (D("0.1"), D("0.0001")), (D("0.01"), D("0.00001")),
             (D("0.001"), D("0.000001")), (D("0.0001"), D("0.0000001")), (ZERO, D("0.00000001"))]
USDT_TICKS = [(D(10), D("0.01")), (D(1), D("0.001")), (D("0.1"), D("0.0001")), (D("0.01"), D("0.00001")),
              (D("0.001"), D("0.000001")), (D("0.0001"), D("0.0000001")), (ZERO, D("0.00000001"))]
MIN_TOTAL = {"KRW": D(5000), "USDT": D("0.5")}
FEE_RATE = {"KRW": D("0.0005"), "USDT": D("0.0025")}
NAMES = {"BTC": ("비트코인", "Bitcoin"), "ETH": ("이더리움", "Ethereum"), "XRP": ("엑스알피(리플)", "XRP")}
SPECS = {m: Spec(f"{m.split('-')[1]}/{m.split('-')[0]}", m.split("-")[1], m.split("-")[0], False, ZERO, VOLUME_STEP,
                 VOLUME_STEP, D(1), MIN_TOTAL[m.split("-")[0]])
         for m in ("KRW-BTC", "KRW-ETH", "KRW-XRP", "USDT-BTC", "USDT-ETH")}
PRICES = {"BTC/KRW": D(90_000_000), "ETH/KRW": D(4_500_000), "XRP/KRW": D(3_000)}
ERRORS = {  # our refusal kinds as Upbit names them: (name, message, HTTP status)
    "duplicate": ("validation_error", "identifier is duplicated", 400),
    "permission": ("out_of_scope", "권한이 부족합니다.", 401),
    "not_found": ("order_not_found", "주문을 찾지 못했습니다.", 404),
    "cancel_not_found": ("order_not_found", "주문을 찾지 못했습니다.", 404),
    "bad_symbol": ("validation_error", "market does not have a valid value", 400),
    "amount": ("validation_error", "volume does not have a valid value", 400),
    "insufficient": ("insufficient_funds_bid", "주문가능한 금액(KRW)이 부족합니다.", 400),
}
STATE = {"open": "wait", "filled": "done", "canceled": "cancel"}


def tick_for(quote: str, price: Decimal) -> Decimal:
    """Upbit's order price unit for `price` on a `quote` market."""
    table = KRW_TICKS if quote == "KRW" else USDT_TICKS
    return next(t for floor, t in table if price >= floor)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _kst(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, KST).isoformat(timespec="seconds")


def _ms(text: str) -> int:
    """A time parameter: milliseconds, or ISO 8601 (UTC without a zone)."""
    if text.isdigit():
        return int(text)
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp() * 1000)


class FakeUpbit(FakeExchange):
    def __init__(self, venue: str, **kw):
        super().__init__(venue, **kw)
        self.prices.update(PRICES)
        self.totals: dict[str, Decimal] = {}  # market buys: the quote total asked for, by uuid
        self.identifiers: dict[tuple[str, str], str] = {}  # (api key, identifier) -> uuid ("" if refused)
        self._nonces: set[str] = set()

    def _specs(self, swap: bool | None = None) -> dict[str, Spec]:
        return SPECS

    # ---- protocol ----
    def _authenticate(self, request: web.Request, body: str) -> tuple[Account, dict]:
        auth = request.headers.get("Authorization", "")
        try:
            head, payload, sig = auth.removeprefix("Bearer ").split(".")
            header, claims = json.loads(_unb64url(head)), json.loads(_unb64url(payload))
        except ValueError:
            raise Refused("jwt_verification", "Jwt 토큰 검증에 실패했습니다.", 401) from None
        acc = self.accounts.get(str(claims.get("access_key", "")))
        if acc is None:
            raise Refused("invalid_access_key", "잘못된 엑세스 키입니다.", 401)
        want = _b64url(hmac.new(acc.secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest())
        if header.get("alg") != "HS256" or not hmac.compare_digest(want, sig):
            raise Refused("jwt_verification", "Jwt 토큰 검증에 실패했습니다.", 401)
        nonce = str(claims.get("nonce", ""))
        if not nonce or nonce in self._nonces:
            raise Refused("nonce_used", "이미 요청한 nonce값이 다시 사용되었습니다.", 401)
        self._nonces.add(nonce)
        if request.method == "POST":
            params = json.loads(body) if body else {}
            query = "&".join(f"{k}={v}" for k, v in params.items())
        else:
            query = unquote(request.raw_path.partition("?")[2])
            params = {k: ",".join(request.query.getall(k)) for k in request.query}  # states[]=a&states[]=b
        expected = hashlib.sha512(query.encode()).hexdigest() if query else None
        if claims.get("query_hash") != expected or (expected and claims.get("query_hash_alg") != "SHA512"):
            raise Refused("invalid_query_payload", "Jwt의 query를 검증하는데 실패하였습니다.", 401)
        return acc, params

    def _error(self, e: Refused) -> web.Response:
        name, msg, status = ERRORS.get(e.code, (e.code, e.msg, e.status if e.status != 200 else 400))
        return web.json_response({"error": {"name": name, "message": msg}}, status=status)

    def _rate_limited(self) -> web.Response:
        return web.Response(status=429, text="Too many API requests.",
                            headers={"Remaining-Req": "group=default; min=1800; sec=0"})

    def _routes(self, app: web.Application) -> None:
        get, p = app.router.add_get, "/v1"
        get(f"{p}/market/all", self._wrap("markets", self._market_all, False))
        get(f"{p}/orderbook/instruments", self._wrap("instruments", self._instruments, False))
        get(f"{p}/ticker", self._wrap("ticker", self._tickers, False))
        get(f"{p}/ticker/all", self._wrap("ticker", self._tickers, False))
        get(f"{p}/candles/minutes/{{unit}}", self._wrap("ohlcv", self._candles_route, False))
        get(f"{p}/candles/{{timeframe}}", self._wrap("ohlcv", self._candles_route, False))
        get(f"{p}/accounts", self._wrap("balance", self._accounts, True))
        app.router.add_post(f"{p}/orders", self._wrap("create", self._create, True))
        app.router.add_post(f"{p}/orders/test", self._wrap("order_test", self._create, True))
        get(f"{p}/order", self._wrap("fetch_order", self._get_order, True))
        app.router.add_delete(f"{p}/order", self._wrap("cancel", self._cancel, True))
        get(f"{p}/orders/open", self._wrap("open_orders", self._open_orders, True))
        get(f"{p}/orders/closed", self._wrap("closed_orders", self._closed_orders, True))

    # ---- quotation ----
    async def _market_all(self, request, acc, q) -> web.Response:
        return web.json_response([{"market": m, "korean_name": NAMES[s.base][0], "english_name": NAMES[s.base][1]}
                                  for m, s in SPECS.items()])

    async def _instruments(self, request, acc, q) -> web.Response:
        out = []
        for m in q.get("markets", "").split(","):
            s = SPECS.get(m)
            if s is not None:
                out.append({"market": m, "quote_currency": s.quote,
                            "tick_size": _s(tick_for(s.quote, self.prices[s.pair])), "supported_levels": ["0"]})
        return web.json_response(out)

    async def _tickers(self, request, acc, q) -> web.Response:
        if "quote_currencies" in q:
            quotes = q["quote_currencies"].split(",")
            markets = [m for m, s in SPECS.items() if s.quote in quotes]
        else:
            markets = q.get("markets", "").split(",")
        if not markets or any(m not in SPECS for m in markets):
            return web.json_response({"error": {"name": 404, "message": "Code not found"}}, status=404)
        now = _now()
        out = []
        for m in markets:
            px = float(self.prices[SPECS[m].pair])
            out.append({"market": m, "trade_date": "", "trade_time": "", "trade_timestamp": now,
                        "opening_price": px, "high_price": px, "low_price": px, "trade_price": px,
                        "prev_closing_price": px, "change": "EVEN", "change_price": 0.0, "change_rate": 0.0,
                        "signed_change_price": 0.0, "signed_change_rate": 0.0, "trade_volume": 0.0,
                        "acc_trade_price": 0.0, "acc_trade_price_24h": 0.0, "acc_trade_volume": 0.0,
                        "acc_trade_volume_24h": 0.0, "timestamp": now})
        return web.json_response(out)

    def _candle_rows(self, s: Spec, tf: str) -> list[list]:
        rows = self._candles(s.pair, tf)
        if rows or s.quote != "KRW":
            return rows
        cache = self.__dict__.setdefault("_krw_cache", {})
        if (s.base, tf) not in cache:
            cache[s.base, tf] = [[r[0], *(float(D(str(x)) * KRW_PER_USDT) for x in r[1:5]), r[5]]
                                 for r in self._candles(f"{s.base}/USDT", tf)]
        return cache[s.base, tf]

    async def _candles_route(self, request, acc, q) -> web.Response:
        s = SPECS.get(q.get("market", ""))
        if s is None:
            return web.json_response({"error": {"name": 404, "message": "Code not found"}}, status=404)
        unit = request.match_info.get("unit")
        tf = {"1": "1m", "5": "5m", "15": "15m", "60": "1h", "240": "4h"}.get(unit or "") if unit else {
            "days": "1d"}.get(request.match_info.get("timeframe", ""))
        rows = self._candle_rows(s, tf) if tf else []
        to = _ms(q["to"]) if q.get("to") else 10**15
        sel = [r for r in rows if r[0] < to][-min(int(q.get("count", 1)), 200):]
        return web.json_response([{
            "market": q["market"], "candle_date_time_utc": datetime.fromtimestamp(r[0] / 1000, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S"), "candle_date_time_kst": _kst(int(r[0]))[:19], "opening_price": r[1],
            "high_price": r[2], "low_price": r[3], "trade_price": r[4], "timestamp": int(r[0]) + 59_000,
            "candle_acc_trade_price": float(r[4]) * float(r[5]), "candle_acc_trade_volume": r[5],
            "unit": int(unit or 1)} for r in reversed(sel)])

    # ---- exchange: balances ----
    async def _accounts(self, request, acc, q) -> web.Response:
        return web.json_response([{"currency": c, "balance": _s(a - self._reserved(acc, c)),
                                   "locked": _s(self._reserved(acc, c)), "avg_buy_price": "0",
                                   "avg_buy_price_modified": False, "unit_currency": "KRW"}
                                  for c, a in acc.balances.items()])

    def _reserved(self, acc: Account, currency: str) -> Decimal:
        out = ZERO
        for o in self.orders.values():
            if o.api_key == acc.api_key and o.status == "open":
                s = SPECS[o.inst]
                if o.side == "buy" and currency == s.quote:
                    out += (o.amount - o.filled) * o.price * (1 + FEE_RATE[s.quote])
                elif o.side == "sell" and currency == s.base:
                    out += o.amount - o.filled
        return out

    # ---- exchange: orders ----
    def _order_json(self, o: Order, trades: bool = False) -> dict:
        s = SPECS[o.inst]
        total = self.totals.get(o.id)
        mine = [f for f in self.fills if f.order is o]
        funds = sum((f.price * f.amount for f in mine), ZERO)
        by_total = total is not None
        out = {"uuid": o.id, "side": "bid" if o.side == "buy" else "ask",
               "ord_type": "price" if by_total else ("market" if o.type == "market" else "limit"),
               "price": _s(total if by_total else o.price) or None, "state": STATE[o.status], "market": o.inst,
               "created_at": _kst(o.ts), "volume": None if by_total else _s(o.amount),
               "remaining_volume": None if by_total else _s(o.amount - o.filled),
               "reserved_fee": _s((total or o.amount * (o.price or ZERO)) * FEE_RATE[s.quote]
                                  if o.side == "buy" else ZERO),
               "remaining_fee": "0", "paid_fee": _s(o.fee),
               "locked": _s(self._reserved_by(o)), "executed_volume": _s(o.filled), "executed_funds": _s(funds),
               "trades_count": len(mine)}
        if o.client_id:
            out["identifier"] = o.client_id
        if trades:
            out["trades"] = [{"market": o.inst, "uuid": f.id, "price": _s(f.price), "volume": _s(f.amount),
                              "funds": _s(f.price * f.amount), "trend": "up" if o.side == "buy" else "down",
                              "created_at": _kst(f.ts), "side": out["side"]} for f in mine]
        return out

    def _reserved_by(self, o: Order) -> Decimal:
        if o.status != "open":
            return ZERO
        rest = o.amount - o.filled
        if o.side == "sell":
            return rest
        return (self.totals.get(o.id) or rest * o.price) * (1 + FEE_RATE[SPECS[o.inst].quote])

    def _checked(self, acc: Account, q: dict) -> tuple[Spec, str, str, Decimal | None, Decimal | None]:
        """Upbit's validation of a new order: (market, side, ord_type, price or total, volume)."""
        s = SPECS.get(q.get("market", ""))
        if s is None:
            raise Refused("bad_symbol", "")
        side = {"bid": "buy", "ask": "sell"}.get(q.get("side", ""))
        kind = q.get("ord_type", "")
        if side is None or kind not in ("limit", "price", "market"):
            raise Refused("validation_error", "side is missing, side does not have a valid value")
        if not acc.can_trade:
            raise Refused("permission", "")
        price, volume = (D(str(q[k])) if q.get(k) not in (None, "") else None for k in ("price", "volume"))
        needs = {"limit": (True, True), "price": (True, False), "market": (False, True)}[kind]
        if (price is not None, volume is not None) != needs or (kind == "price" and side != "buy") or (
                kind == "market" and side != "sell"):
            raise Refused("validation_error", f"ord_type {kind} takes {'price' if needs[0] else ''} "
                                              f"{'volume' if needs[1] else ''} on this side")
        if volume is not None and (volume <= 0 or volume % VOLUME_STEP):
            raise Refused("amount", "")
        ab = "bid" if side == "buy" else "ask"
        if kind == "limit" and (price <= 0 or price % tick_for(s.quote, price)):
            raise Refused(f"invalid_price_{ab}", "주문가격 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.")
        total = price if kind == "price" else (volume * (price if kind == "limit" else self.prices[s.pair]))
        if total < MIN_TOTAL[s.quote]:
            raise Refused(f"under_min_total_{ab}", "최소주문금액 이상으로 주문해주세요")
        free = acc.balances.get(s.quote if side == "buy" else s.base, ZERO) - self._reserved(
            acc, s.quote if side == "buy" else s.base)
        need = total * (1 + FEE_RATE[s.quote]) if side == "buy" else volume
        if need > free:
            cur = s.quote if side == "buy" else s.base
            raise Refused(f"insufficient_funds_{ab}", f"주문가능한 금액({cur})이 부족합니다.")
        return s, side, kind, price, volume

    async def _create(self, request, acc, q) -> web.Response:
        """POST /v1/orders (and /v1/orders/test, which validates only): the order as accepted, before matching."""
        test = request.path.endswith("/test")
        cid = str(q.get("identifier") or "")
        key = (acc.api_key, cid)
        if cid and not test:
            if key in self.identifiers:
                raise Refused("duplicate", "")
            self.identifiers[key] = ""  # taken even if the order is refused below
        self._forced(q)
        s, side, kind, price, volume = self._checked(acc, q)
        self._seq += 1
        last = self.prices[s.pair]
        amount = (price / last).quantize(VOLUME_STEP, rounding=ROUND_DOWN) if kind == "price" else volume
        o = Order(str(uuid.UUID(int=(0x5B17 << 96) + self._seq)), cid, q["market"], False, side,
                  "limit" if kind == "limit" else "market", amount, price if kind == "limit" else None,
                  acc.api_key, _now())
        if kind == "price":
            self.totals[o.id] = price
        accepted = self._order_json(o)
        if test:
            self.totals.pop(o.id, None)
            return web.json_response(accepted)
        self.orders[o.id] = o
        self.created.append(o)
        if cid:
            self.identifiers[key] = o.id
        if kind != "limit":
            if amount > 0:
                self._execute(o, last, amount, maker=False)
            if kind == "price" and amount * last < price:
                o.status = "canceled"  # the rest of the total buys less than 1e-8: Upbit cancels it
        elif (side == "buy" and last <= price) or (side == "sell" and last >= price):
            self._execute(o, price, amount, maker=False)
        return web.json_response(accepted, status=201)

    def _execute(self, o: Order, price: Decimal, qty: Decimal, *, maker: bool) -> Fill:
        acc, s = self.accounts[o.api_key], SPECS[o.inst]
        qty = min(qty, o.amount - o.filled)
        funds = price * qty
        fee = funds * FEE_RATE[s.quote]
        bal = acc.balances
        if o.side == "buy":
            bal[s.quote] = bal.get(s.quote, ZERO) - funds - fee
            bal[s.base] = bal.get(s.base, ZERO) + qty
        else:
            bal[s.base] = bal.get(s.base, ZERO) - qty
            bal[s.quote] = bal.get(s.quote, ZERO) + funds - fee
        o.avg = ((o.avg or ZERO) * o.filled + funds) / (o.filled + qty)
        o.filled += qty
        o.fee += fee
        if o.filled >= o.amount:
            o.status = "filled"
        f = Fill(str(uuid.UUID(int=(0x7ADE << 96) + len(self.fills) + 1)), o, price, qty, fee, maker, _now())
        self.fills.append(f)
        return f

    def _named(self, acc: Account, q: dict) -> Order:
        if q.get("uuid"):
            o = self.orders.get(q["uuid"])
        elif q.get("identifier"):
            o = self.orders.get(self.identifiers.get((acc.api_key, q["identifier"]), ""))
        else:
            raise Refused("validation_error", "uuid or identifier is required")
        if o is None or o.api_key != acc.api_key:
            raise Refused("not_found", "")
        return o

    async def _get_order(self, request, acc, q) -> web.Response:
        return web.json_response(self._order_json(self._named(acc, q), trades=True))

    async def _cancel(self, request, acc, q) -> web.Response:
        o = self._named(acc, q)
        if o.status != "open":
            raise Refused("not_found", "")
        answer = self._order_json(o)  # as it was: Upbit cancels after answering
        o.status = "canceled"
        return web.json_response(answer)

    def _listed(self, acc: Account, q: dict, states: set[str]) -> list[Order]:
        wanted = set((q.get("state") or q.get("states[]") or ",".join(states)).split(","))
        return [o for o in self.orders.values() if o.api_key == acc.api_key and STATE[o.status] in wanted
                and q.get("market") in (None, o.inst)]

    async def _open_orders(self, request, acc, q) -> web.Response:
        found = sorted(self._listed(acc, q, {"wait", "watch"}), key=lambda o: o.ts,
                       reverse=q.get("order_by", "desc") == "desc")
        limit, page = min(int(q.get("limit", 100)), 100), int(q.get("page", 1))
        return web.json_response([self._order_json(o) for o in found[(page - 1) * limit: page * limit]])

    async def _closed_orders(self, request, acc, q) -> web.Response:
        week = 7 * 86_400_000
        start, end = (_ms(q[k]) if q.get(k) else None for k in ("start_time", "end_time"))
        if start is not None and end is not None and end - start > week:
            raise Refused("validation_error", "the time range is at most 7 days")
        start = start if start is not None else (end or _now()) - week
        end = end if end is not None else start + week
        found = sorted((o for o in self._listed(acc, q, {"done", "cancel"}) if start <= o.ts <= end),
                       key=lambda o: o.ts, reverse=q.get("order_by", "desc") == "desc")
        return web.json_response([self._order_json(o) for o in found[:min(int(q.get("limit", 100)), 1000)]])
