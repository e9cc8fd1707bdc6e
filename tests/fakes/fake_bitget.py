"""The fake exchange speaking Bitget v2 (classic account: spot and USDT-M perpetuals) for real ccxt.

Signed like Bitget (ACCESS-SIGN: base64 HMAC-SHA256 of timestamp + method + path + query or body, with the
ACCESS-PASSPHRASE), answered in its envelope (`code` "00000"/`msg`/`data`) with its error codes; a demo key is
known only with the `PAPTRADING: 1` header and a live key only without it. Spot market buys are sized in the quote
coin (`size` is USDT), as on Bitget. Trigger ("plan") orders live apart, named by their own `orderId` and
`clientOid`; when the price reaches one it becomes a new market order under a new order id and no client id of
ours, which only the plan's sub-order list (`plan-sub-order`, and `executeOrderId` in the futures plan history)
leads to. Fills carry the order id, never a client id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import ROUND_DOWN, Decimal
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.fake_exchange import ZERO, Account, FakeExchange, Order, Refused, Spec, _now, _s

D = Decimal
SPOT_SPECS = {
    "BTCUSDT": Spec("BTC/USDT", "BTC", "USDT", False, D("0.01"), D("0.000001"), D("0.00001"), D(1), D(1)),
    "ETHUSDT": Spec("ETH/USDT", "ETH", "USDT", False, D("0.01"), D("0.0001"), D("0.0001"), D(1), D(1)),
}
SWAP_SPECS = {
    "BTCUSDT": Spec("BTC/USDT:USDT", "BTC", "USDT", True, D("0.1"), D("0.001"), D("0.001"), D(1), D(5)),
    "ETHUSDT": Spec("ETH/USDT:USDT", "ETH", "USDT", True, D("0.01"), D("0.01"), D("0.01"), D(1), D(5)),
}
CODES = {"duplicate": ("40786", "Duplicate clientOid"),
         "insufficient": ("43012", "Insufficient balance"),
         "amount": ("43006", "The order quantity is less than the minimum or not a multiple of the lot size"),
         "notional": ("45110", "less than the minimum amount 1 USDT"),
         "price": ("41103", "param price scale error error"),
         "bad_symbol": ("40034", "Parameter symbol does not exist"),
         "permission": ("40014", "Incorrect permissions"),
         "not_found": ("40109", "The data of the order cannot be found, please confirm the order number"),
         "cancel_not_found": ("40768", "Order does not exist")}
ORDER_STATE = {"open": "live", "filled": "filled", "canceled": "cancelled"}
PLAN_STATE = {"open": "live", "filled": "executed", "canceled": "cancelled"}
USDT_FUTURES = "USDT-FUTURES"
PLAN_PAGE = 100  # the most plan orders one page holds


class FakeBitget(FakeExchange):
    def __init__(self, venue: str, **kw):
        super().__init__(venue, **kw)
        self.plan_quote: dict[str, Decimal] = {}  # spot plan buys sized in USDT, by plan order id

    def _specs(self, swap: bool | None = None) -> dict[str, Spec]:
        return SWAP_SPECS if swap else SPOT_SPECS

    # ---- protocol ----
    def _authenticate(self, request: web.Request, body: str) -> tuple[Account, dict]:
        h = request.headers
        acc = self.accounts.get(h.get("ACCESS-KEY", ""))
        if acc is None or (h.get("PAPTRADING") == "1") != acc.demo:  # demo keys exist in demo trading only
            raise Refused("40037", "Apikey does not exist")
        if h.get("ACCESS-PASSPHRASE") != acc.passphrase:
            raise Refused("40012", "apikey/password is incorrect")
        path, _, query = request.raw_path.partition("?")
        prehash = (h.get("ACCESS-TIMESTAMP", "") + request.method + path + ("?" + unquote(query) if query else "")
                   + body)
        want = base64.b64encode(hmac.new(acc.secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(want, h.get("ACCESS-SIGN", "")):
            raise Refused("40009", "sign signature error")
        return acc, ({**request.query, **json.loads(body)} if body else dict(request.query))

    def _error(self, e: Refused) -> web.Response:
        code, msg = CODES.get(e.code, (e.code, e.msg))
        return web.json_response({"code": code, "msg": msg, "requestTime": _now(), "data": None}, status=400)

    def _rate_limited(self) -> web.Response:
        return web.json_response({"code": "429", "msg": "Too Many Requests", "requestTime": _now(), "data": None},
                                 status=429)

    @staticmethod
    def _ok(data) -> web.Response:
        return web.json_response({"code": "00000", "msg": "success", "requestTime": _now(), "data": data})

    async def _aok(self, data) -> web.Response:
        return self._ok(data)

    def _routes(self, app: web.Application) -> None:
        get, post = app.router.add_get, app.router.add_post
        s, m = "/api/v2/spot", "/api/v2/mix"
        get("/api/v2/public/time", self._wrap("time", lambda r, a, q: self._aok({"serverTime": str(_now())}), False))
        get(f"{s}/public/symbols", self._wrap("markets", self._spot_symbols, False))
        get("/api/v2/margin/currencies", self._wrap("markets", lambda r, a, q: self._aok([]), False))
        get(f"{m}/market/contracts", self._wrap("markets", self._contracts, False))
        get(f"{s}/market/tickers", self._wrap("ticker", self._ticker, False))
        get(f"{m}/market/ticker", self._wrap("ticker", self._ticker, False))
        for base in (f"{s}/market", f"{m}/market"):
            for name in ("candles", "history-candles"):
                get(f"{base}/{name}", self._wrap("ohlcv", self._candles_v2, False))
        get(f"{s}/account/assets", self._wrap("balance", self._assets, True))
        get(f"{s}/account/info", self._wrap("key_info", self._account_info, True))
        get(f"{m}/account/accounts", self._wrap("balance", self._mix_accounts, True))
        get(f"{m}/position/all-position", self._wrap("positions", self._positions, True))
        post(f"{m}/account/set-leverage", self._wrap("leverage", self._set_leverage, True))
        post(f"{m}/account/set-margin-mode", self._wrap("leverage", self._set_margin_mode, True))
        post(f"{m}/account/set-position-mode", self._wrap("position_mode", self._set_position_mode, True))
        for base, swap in ((f"{s}/trade", False), (f"{m}/order", True)):
            post(f"{base}/place-order", self._wrap("create", self._on(self._create, swap), True))
            post(f"{base}/cancel-order", self._wrap("cancel", self._on(self._cancel, swap), True))
            post(f"{base}/place-plan-order", self._wrap("create", self._on(self._create_plan, swap), True))
            post(f"{base}/cancel-plan-order", self._wrap("cancel", self._on(self._cancel_plan, swap), True))
            get(f"{base}/plan-sub-order", self._wrap("fetch_order", self._on(self._plan_sub_orders, swap), True))
            get(f"{base}/fills", self._wrap("trades", self._on(self._fills, swap), True))
        get(f"{s}/trade/orderInfo", self._wrap("fetch_order", self._on(self._order_info, False), True))
        get(f"{m}/order/detail", self._wrap("fetch_order", self._on(self._order_info, True), True))
        get(f"{s}/trade/unfilled-orders", self._wrap("open_orders", self._on(self._open_orders, False), True))
        get(f"{m}/order/orders-pending", self._wrap("open_orders", self._on(self._open_orders, True), True))
        get(f"{s}/trade/current-plan-order", self._wrap("open_orders", self._on(self._plan_list, False, True), True))
        get(f"{m}/order/orders-plan-pending", self._wrap("open_orders", self._on(self._plan_list, True, True), True))
        get(f"{s}/trade/history-plan-order", self._wrap("fetch_order", self._on(self._plan_list, False, False), True))
        get(f"{m}/order/orders-plan-history", self._wrap("fetch_order", self._on(self._plan_list, True, False), True))

    @staticmethod
    def _on(fn, *args):
        async def call(request, acc, q):
            return await fn(acc, q, *args)
        return call

    # ---- public ----
    async def _spot_symbols(self, request, acc, q) -> web.Response:
        return self._ok([{"symbol": sid, "baseCoin": s.base, "quoteCoin": s.quote, "minTradeAmount": _s(s.min_qty),
                          "maxTradeAmount": "10000000000", "takerFeeRate": "0.001", "makerFeeRate": "0.001",
                          "pricePrecision": str(-s.tick.as_tuple().exponent),
                          "quantityPrecision": str(-s.lot.as_tuple().exponent), "quotePrecision": "8",
                          "status": "online", "minTradeUSDT": _s(s.min_notional), "buyLimitPriceRatio": "0.05",
                          "sellLimitPriceRatio": "0.05", "orderQuantity": "200"}
                         for sid, s in SPOT_SPECS.items() if q.get("symbol") in (None, sid)])

    async def _contracts(self, request, acc, q) -> web.Response:
        if q.get("productType") != USDT_FUTURES:
            return self._ok([])
        return self._ok([{"symbol": sid, "baseCoin": s.base, "quoteCoin": s.quote, "buyLimitPriceRatio": "0.01",
                          "sellLimitPriceRatio": "0.01", "feeRateUpRatio": "0.005", "makerFeeRate": "0.0002",
                          "takerFeeRate": "0.0006", "openCostUpRatio": "0.01", "supportMarginCoins": ["USDT"],
                          "minTradeNum": _s(s.min_qty), "priceEndStep": "1",
                          "volumePlace": str(-s.lot.as_tuple().exponent),
                          "pricePlace": str(-s.tick.as_tuple().exponent), "sizeMultiplier": _s(s.lot),
                          "symbolType": "perpetual", "minTradeUSDT": _s(s.min_notional), "maxSymbolOrderNum": "200",
                          "maxProductOrderNum": "400", "maxPositionNum": "150", "symbolStatus": "normal",
                          "offTime": "-1", "limitOpenTime": "-1", "deliveryTime": "", "deliveryStartTime": "",
                          "launchTime": "", "fundInterval": "8", "minLever": "1", "maxLever": "125",
                          "posLimit": "0.05", "maintainTime": ""} for sid, s in SWAP_SPECS.items()])

    def _market(self, q: dict, swap: bool) -> Spec:
        s = self._specs(swap).get(q.get("symbol", ""))
        if s is None:
            raise Refused("bad_symbol", "Parameter symbol does not exist")
        return s

    async def _ticker(self, request, acc, q) -> web.Response:
        swap = "productType" in q
        s = self._market(q, swap)
        px = _s(self.prices[s.pair])
        return self._ok([{"symbol": q["symbol"], "lastPr": px, "bidPr": px, "askPr": px, "bidSz": "1", "askSz": "1",
                          "open": px, "high24h": px, "low24h": px, "change24h": "0", "baseVolume": "0",
                          "quoteVolume": "0", "usdtVolume": "0", "ts": str(_now()), "openUtc": px,
                          "changeUtc24h": "0", "markPrice": px, "indexPrice": px}])

    async def _candles_v2(self, request, acc, q) -> web.Response:
        s = self._market(q, "productType" in q)
        tf = {"1min": "1m", "5min": "5m", "15min": "15m", "1h": "1h", "4h": "4h", "1Dutc": "1d", "1D": "1d"}.get(
            q.get("granularity", "1m"), q.get("granularity", "1m"))
        rows = self._candles(s.pair, tf)
        start, end, limit = int(q.get("startTime", -1)), int(q.get("endTime", 10**15)), int(q.get("limit", 100))
        sel = [r for r in rows if start <= r[0] <= end]
        sel = sel[:limit] if "startTime" in q else sel[-limit:]
        return self._ok([[str(int(r[0])), *map(str, r[1:6]), "0", "0"] for r in sel])

    # ---- account ----
    async def _assets(self, request, acc, q) -> web.Response:
        return self._ok([{"coin": c, "available": _s(a - self._reserved(acc, c)), "frozen": _s(self._reserved(acc, c)),
                          "locked": "0", "limitAvailable": "0", "uTime": str(_now())}
                         for c, a in acc.balances.items() if q.get("coin") in (None, c)])

    async def _account_info(self, request, acc, q) -> web.Response:
        perms = ["stor", "coor", "cpor", "wtor", *(["stow", "coow", "cpow"] if acc.can_trade else []),
                 *(["wwow"] if acc.can_withdraw else [])]
        return self._ok({"userId": "1", "inviterId": "", "ips": "", "authorities": perms, "parentId": 1,
                         "traderType": "not_trader", "channelCode": "", "channel": "", "regisTime": "1600000000000"})

    async def _mix_accounts(self, request, acc, q) -> web.Response:
        usdt = acc.balances.get("USDT", ZERO)
        free = usdt - self._reserved(acc, "USDT")
        return self._ok([{"marginCoin": "USDT", "locked": _s(self._reserved(acc, "USDT")), "available": _s(free),
                          "crossedMaxAvailable": _s(free), "isolatedMaxAvailable": _s(free),
                          "maxTransferOut": _s(free), "accountEquity": _s(usdt), "usdtEquity": _s(usdt),
                          "btcEquity": "0", "crossedRiskRate": "0", "unrealizedPL": "0", "coupon": "0"}])

    async def _positions(self, request, acc, q) -> web.Response:
        out = []
        for sid, (qty, entry) in acc.positions.items():
            if not qty:
                continue
            mark = self.prices[SWAP_SPECS[sid].pair]
            mode = {"cross": "crossed"}.get(acc.margin_mode.get(sid, "cross"), "isolated")
            out.append({"marginCoin": "USDT", "symbol": sid, "holdSide": "long" if qty > 0 else "short",
                        "openDelegateSize": "0", "marginSize": _s(abs(qty) * entry / acc.leverage.get(sid, 1)),
                        "available": _s(abs(qty)), "locked": "0", "total": _s(abs(qty)),
                        "leverage": str(acc.leverage.get(sid, 1)), "achievedProfits": "0",
                        "openPriceAvg": _s(entry), "marginMode": mode,
                        "posMode": "one_way_mode" if acc.pos_mode == "net_mode" else "hedge_mode",
                        "unrealizedPL": _s((mark - entry) * qty), "liquidationPrice": "0",
                        "keepMarginRate": "0.004", "markPrice": _s(mark), "marginRatio": "0",
                        "cTime": str(_now()), "uTime": str(_now())})
        return self._ok(out)

    async def _set_leverage(self, request, acc, q) -> web.Response:
        lev = int(D(str(q["leverage"])))
        self._market(q, True)
        if not 1 <= lev <= 125:
            raise Refused("40797", f"Exceeded the maximum settable leverage {lev}")
        acc.leverage[q["symbol"]] = lev
        return self._ok({"symbol": q["symbol"], "marginCoin": "USDT", "longLeverage": str(lev),
                         "shortLeverage": str(lev), "crossMarginLeverage": str(lev), "marginMode": "crossed"})

    async def _set_margin_mode(self, request, acc, q) -> web.Response:
        mode = {"crossed": "cross", "isolated": "isolated"}.get(q.get("marginMode", ""))
        if mode is None:
            raise Refused("40017", "Parameter verification failed: marginMode")
        self._market(q, True)
        acc.margin_mode[q["symbol"]] = mode
        return self._ok({"symbol": q["symbol"], "marginMode": q["marginMode"]})

    async def _set_position_mode(self, request, acc, q) -> web.Response:
        acc.pos_mode = {"one_way_mode": "net_mode", "hedge_mode": "long_short_mode"}[q["posMode"]]
        return self._ok({"posMode": q["posMode"]})

    # ---- orders ----
    def _base_size(self, spec: Spec, quote: Decimal, price: Decimal) -> Decimal:
        return (quote / price).quantize(spec.lot, rounding=ROUND_DOWN)

    def _order_json(self, o: Order) -> dict:
        state = "partially_filled" if o.status == "open" and o.filled else ORDER_STATE[o.status]
        out = {"symbol": o.inst, "orderId": o.id, "clientOid": o.client_id, "price": _s(o.price or ZERO),
               "size": _s(o.amount), "orderType": "limit" if o.type == "limit" else "market", "side": o.side,
               "priceAvg": _s(o.avg or ZERO), "baseVolume": _s(o.filled),
               "quoteVolume": _s(o.filled * (o.avg or ZERO)), "enterPointSource": "API", "orderSource": "normal",
               "cTime": str(o.ts), "uTime": str(_now())}
        if o.swap:
            out.update(state=state, fee=_s(-o.fee), force="gtc", posSide="net", marginCoin="USDT",
                       marginMode={"cross": "crossed"}.get(o.margin_mode or "cross", o.margin_mode),
                       reduceOnly="YES" if o.reduce_only else "NO", posMode="one_way_mode", tradeSide="buy_single"
                       if o.side == "buy" else "sell_single", leverage="1", totalProfits="0")
        else:
            out.update(status=state, userId="1", feeDetail=json.dumps({"USDT": {
                "deduction": False, "feeCoinCode": "USDT", "totalDeductionFee": 0, "totalFee": float(-o.fee)}}))
            if o.type == "market" and o.side == "buy":  # sized in USDT on Bitget
                out["size"] = _s(self.plan_quote.get(o.id, o.filled * (o.avg or ZERO)))
        return out

    def _plan_json(self, a: Order) -> dict:
        quote = self.plan_quote.get(a.id)
        out = {"orderId": a.id, "clientOid": a.client_id, "symbol": a.inst,
               "size": _s(quote if quote is not None else a.amount), "triggerPrice": _s(a.trigger),
               "executePrice": "0", "orderType": "market", "side": a.side, "triggerType": "fill_price",
               "enterPointSource": "API", "cTime": str(a.ts), "uTime": str(_now())}
        if a.swap:
            out.update(planType="normal_plan", planStatus=PLAN_STATE[a.status], price="", posSide="net",
                       marginCoin="USDT", marginMode="crossed", posMode="one_way_mode",
                       reduceOnly="YES" if a.reduce_only else "NO", tradeSide="sell_single" if a.side == "sell"
                       else "buy_single", callbackRatio="", executeOrderId=a.child,
                       baseVolume=_s(a.filled), priceAvg=_s(a.avg) if a.avg else "")
        else:
            out.update(planType="total" if quote is not None else "amount", status=PLAN_STATE[a.status])
        return out

    def _sized(self, q: dict, swap: bool) -> tuple[Spec, Decimal, Decimal | None]:
        """The market, the base amount and the quote size of a spot market buy (sent in USDT)."""
        spec = self._market(q, swap)
        size = D(str(q["size"]))
        if not swap and q.get("orderType") == "market" and q.get("side") == "buy":
            return spec, self._base_size(spec, size, self.prices[spec.pair]), size
        return spec, size, None

    async def _create(self, acc, q, swap: bool) -> web.Response:
        self._forced(q)
        if swap and q.get("productType") != USDT_FUTURES:
            raise Refused("40017", "Parameter verification failed: productType")
        _, amount, quote = self._sized(q, swap)
        kind = q.get("orderType")
        if kind not in ("market", "limit"):
            raise Refused("40017", f"Parameter verification failed: orderType {kind}")
        mode = {"crossed": "cross", "isolated": "isolated"}.get(q.get("marginMode", "")) if swap else None
        o = self._place(acc, q["symbol"], swap, q["side"], kind, amount, D(str(q["price"])) if q.get("price")
                        else None, q.get("clientOid", ""), q.get("reduceOnly") == "YES", mode)
        if quote is not None:
            self.plan_quote[o.id] = quote
        return self._ok({"orderId": o.id, "clientOid": o.client_id})

    async def _create_plan(self, acc, q, swap: bool) -> web.Response:
        self._forced(q)
        if not q.get("triggerPrice") or q.get("orderType") != "market":
            raise Refused("40017", "Parameter verification failed: only market plan orders are simulated")
        if swap and q.get("planType") != "normal_plan":
            raise Refused("40017", "Parameter verification failed: planType")
        if not swap and q.get("planType") != ("total" if q.get("side") == "buy" else "amount"):
            raise Refused("40017", "Parameter verification failed: planType")
        if not acc.can_trade:
            raise Refused("permission", "Incorrect permissions")
        spec, amount, quote = self._sized(q, swap)
        cid = q.get("clientOid", "")
        if cid and any(a.client_id == cid and a.status == "open" and a.api_key == acc.api_key
                       for a in self.algos.values()):
            raise Refused("duplicate", "Duplicate clientOid")
        if amount % spec.lot or amount < spec.min_qty:
            raise Refused("amount", "The order quantity is less than the minimum")
        trigger = D(str(q["triggerPrice"]))
        if trigger % spec.tick:
            raise Refused("price", "param price scale error error")
        self._seq += 1
        a = Order(str(900000 + self._seq), cid, q["symbol"], swap, q["side"], "trigger", amount, None, acc.api_key,
                  _now(), q.get("reduceOnly") == "YES", trigger=trigger)
        if quote is not None:
            self.plan_quote[a.id] = quote
        self.algos[a.id] = a
        self.created.append(a)
        return self._ok({"orderId": a.id, "clientOid": cid})

    def _fire(self, a: Order, price: Decimal) -> Order:
        quote = self.plan_quote.get(a.id)
        if quote is None:
            return super()._fire(a, price)
        spec = self._spec(a)
        child = self._place(self.accounts[a.api_key], a.inst, a.swap, a.side, "market",
                            self._base_size(spec, quote, price), None, "", a.reduce_only, a.margin_mode)
        self.plan_quote[child.id] = quote
        return child

    def _mine(self, acc: Account, q: dict, swap: bool, pool: dict[str, Order]) -> list[Order]:
        return [o for o in pool.values() if o.api_key == acc.api_key and o.swap == swap
                and q.get("symbol") in (None, o.inst) and q.get("orderId") in (None, o.id)
                and q.get("clientOid") in (None, o.client_id)]

    async def _cancel(self, acc, q, swap: bool) -> web.Response:
        live = [o for o in self._mine(acc, q, swap, self.orders) if o.status == "open"]
        if not live or not (q.get("orderId") or q.get("clientOid")):
            raise Refused("cancel_not_found" if swap else "43001", "The order does not exist")
        live[-1].status = "canceled"
        return self._ok({"orderId": live[-1].id, "clientOid": live[-1].client_id})

    async def _cancel_plan(self, acc, q, swap: bool) -> web.Response:
        wanted = q.get("orderIdList") or [{"orderId": q.get("orderId"), "clientOid": q.get("clientOid")}]
        ok, failed = [], []
        for item in wanted:
            key = {k: v for k, v in item.items() if v}
            found = [a for a in self._mine(acc, {**key, "symbol": q.get("symbol")}, swap, self.algos)
                     if a.status == "open"] if key else []
            if found:
                found[-1].status = "canceled"
                ok.append({"orderId": found[-1].id, "clientOid": found[-1].client_id})
            else:
                failed.append({**item, "errorMsg": "Plan order does not exist"})
        if not swap:
            if failed:
                raise Refused("43025", "Plan order does not exist")
            return self._ok({"result": "success"})
        return self._ok({"successList": ok, "failureList": failed})

    async def _order_info(self, acc, q, swap: bool) -> web.Response:
        found = self._mine(acc, q, swap, self.orders) if (q.get("orderId") or q.get("clientOid")) else []
        if not found:
            raise Refused("not_found" if swap else "43001", "The order does not exist")
        return self._ok(self._order_json(found[-1]) if swap else [self._order_json(found[-1])])

    async def _open_orders(self, acc, q, swap: bool) -> web.Response:
        rows = [self._order_json(o) for o in reversed(self._mine(acc, q, swap, self.orders)) if o.status == "open"]
        return self._ok({"entrustedList": rows or None, "endId": rows[-1]["orderId"] if rows else None}
                        if swap else rows)

    async def _plan_list(self, acc, q, swap: bool, live: bool) -> web.Response:
        if swap and q.get("planType") != "normal_plan":
            raise Refused("40017", "Parameter verification failed: planType")
        if not swap and not q.get("symbol"):
            raise Refused("40017", "Parameter verification failed: symbol")
        # newest first, a page at a time: `limit` (spot's open list 20 unless asked, else 100; never over 100)
        # rows with ids below `idLessThan`
        limit = min(int(q.get("limit") or (20 if live and not swap else PLAN_PAGE)), PLAN_PAGE)
        below = int(q["idLessThan"]) if q.get("idLessThan") else None
        rows = [self._plan_json(a) for a in reversed(self._mine(acc, q, swap, self.algos))
                if (a.status == "open") == live and (below is None or int(a.id) < below)]
        page = rows[:limit]
        key = "entrustedList" if swap else "orderList"
        return self._ok({key: page, "endId" if swap else "idLessThan": page[-1]["orderId"] if page else "",
                         **({} if swap else {"nextFlag": len(rows) > limit})})

    async def _plan_sub_orders(self, acc, q, swap: bool) -> web.Response:
        a = self.algos.get(q.get("planOrderId", ""))
        if a is None or a.api_key != acc.api_key:
            raise Refused("43025", "Plan order does not exist")
        if not a.child:
            return self._ok([])
        return self._ok([{"orderId": a.child, "price": "0", "type": "market", "status": "success"}])

    async def _fills(self, acc, q, swap: bool) -> web.Response:
        start, end = int(q.get("startTime", 0)), int(q.get("endTime", 10**15))
        out = []
        for f in self.fills:
            o = f.order
            if o.api_key != acc.api_key or o.swap != swap or q.get("symbol") not in (None, o.inst):
                continue
            if not start <= f.ts <= end or q.get("orderId") not in (None, o.id):
                continue
            fee = {"deduction": "no", "feeCoin": "USDT", "totalDeductionFee": "0", "totalFee": _s(-f.fee)}
            row = {"symbol": o.inst, "orderId": o.id, "tradeId": f.id, "side": o.side, "orderType": o.type
                   if o.type == "limit" else "market", "tradeScope": "maker" if f.maker else "taker",
                   "cTime": str(f.ts), "uTime": str(f.ts)}
            if swap:
                row.update(price=_s(f.price), baseVolume=_s(f.amount), quoteVolume=_s(f.price * f.amount),
                           feeDetail=[fee], profit="0", enterPointSource="API", posMode="one_way_mode",
                           tradeSide="buy_single" if o.side == "buy" else "sell_single")
            else:
                row.update(priceAvg=_s(f.price), size=_s(f.amount), amount=_s(f.price * f.amount), feeDetail=fee,
                           userId="1")
            out.append(row)
        out.reverse()  # newest first
        out = out[: int(q.get("limit", 100))]
        return self._ok({"fillList": out, "endId": out[-1]["tradeId"] if out else None} if swap else out)

