"""The fake exchange speaking Bybit v5 (unified trading account: spot and USDT linear perpetuals) for real ccxt.

Signed like Bybit (X-BAPI-SIGN: HMAC-SHA256 hex of timestamp + key + recv window + query or body), answered in
its envelope (`retCode`/`retMsg`/`result`) with its error codes. Conditional (stop) orders are ordinary orders
with a `triggerPrice`: `Untriggered` until the price reaches it, then filled at market under the same order id
and `orderLinkId`, so their fills carry our client id. Spot lists them apart (`orderFilter=StopOrder`); linear
lists every kind unless a filter is given, as Bybit does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal

from aiohttp import web

from tests.fakes.fake_exchange import ZERO, Account, FakeExchange, Order, Refused, Spec, _now, _s

D = Decimal
SPOT_SPECS = {
    "BTCUSDT": Spec("BTC/USDT", "BTC", "USDT", False, D("0.01"), D("0.000001"), D("0.000048"), D(1), D(1)),
    "ETHUSDT": Spec("ETH/USDT", "ETH", "USDT", False, D("0.01"), D("0.00001"), D("0.00062"), D(1), D(1)),
}
LINEAR_SPECS = {
    "BTCUSDT": Spec("BTC/USDT:USDT", "BTC", "USDT", True, D("0.10"), D("0.001"), D("0.001"), D(1), D(5)),
    "ETHUSDT": Spec("ETH/USDT:USDT", "ETH", "USDT", True, D("0.01"), D("0.01"), D("0.01"), D(1), D(5)),
}
CODES = {"duplicate": (110072, "OrderLinkedID is duplicate"),
         "insufficient": (110007, "ab not enough for new order"),
         "amount": (170136, "Order quantity lower than the minimum."),
         "notional": (110094, "Order does not meet minimum order value"),
         "price": (10001, "params error: price is not a multiple of the tick size"),
         "bad_symbol": (10001, "params error: symbol invalid"),
         "permission": (10005, "Permission denied, please check your API key permissions."),
         "not_found": (110001, "order not exists or too late to cancel"),
         "cancel_not_found": (110001, "order not exists or too late to cancel")}
STATUS = {"open": "New", "filled": "Filled", "canceled": "Cancelled"}


class FakeBybit(FakeExchange):
    def _specs(self, swap: bool | None = None) -> dict[str, Spec]:
        return LINEAR_SPECS if swap else SPOT_SPECS

    # ---- protocol ----
    def _authenticate(self, request: web.Request, body: str) -> tuple[Account, dict]:
        h = request.headers
        acc = self.accounts.get(h.get("X-BAPI-API-KEY", ""))
        if acc is None:
            raise Refused("10003", f"API key is invalid. {h.get('X-BAPI-API-KEY', '')}")
        query = request.raw_path.partition("?")[2]
        payload = h.get("X-BAPI-TIMESTAMP", "") + acc.api_key + h.get("X-BAPI-RECV-WINDOW", "") + (
            body if request.method == "POST" else query)
        want = hmac.new(acc.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, h.get("X-BAPI-SIGN", "")):
            raise Refused("10004", "error sign! origin_string[...]")
        return acc, ({**request.query, **json.loads(body)} if body else dict(request.query))

    def _error(self, e: Refused) -> web.Response:
        code, msg = CODES.get(e.code, (int(e.code) if e.code.isdigit() else 10001, e.msg))
        return web.json_response({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": _now()},
                                 status=e.status)

    def _rate_limited(self) -> web.Response:
        return web.json_response({"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {},
                                  "time": _now()}, status=429,
                                 headers={"X-Bapi-Limit-Status": "0", "Retry-After": f"{self.retry_after:g}"})

    @staticmethod
    def _ok(result) -> web.Response:
        return web.json_response({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": _now()})

    def _routes(self, app: web.Application) -> None:
        get, post, p = app.router.add_get, app.router.add_post, "/v5"
        get(f"{p}/market/instruments-info", self._wrap("markets", self._instruments, False))
        get(f"{p}/market/time", self._wrap("time", self._time, False))
        get(f"{p}/market/tickers", self._wrap("ticker", self._ticker, False))
        get(f"{p}/market/kline", self._wrap("ohlcv", self._kline, False))
        get(f"{p}/account/wallet-balance", self._wrap("balance", self._balance, True))
        get(f"{p}/position/list", self._wrap("positions", self._positions, True))
        post(f"{p}/position/set-leverage", self._wrap("leverage", self._set_leverage, True))
        post(f"{p}/account/set-margin-mode", self._wrap("leverage", self._set_margin_mode, True))
        post(f"{p}/position/switch-mode", self._wrap("position_mode", self._switch_mode, True))
        post(f"{p}/order/create", self._wrap("create", self._create, True))
        post(f"{p}/order/cancel", self._wrap("cancel", self._cancel, True))
        get(f"{p}/order/realtime", self._wrap("fetch_order", self._realtime, True))
        get(f"{p}/order/history", self._wrap("fetch_order", self._history, True))
        get(f"{p}/execution/list", self._wrap("trades", self._executions, True))
        get(f"{p}/user/query-api", self._wrap("key_info", self._query_api, True))

    # ---- public ----
    async def _time(self, request, acc, q) -> web.Response:
        return self._ok({"timeSecond": str(_now() // 1000), "timeNano": str(_now() * 1_000_000)})

    async def _instruments(self, request, acc, q) -> web.Response:
        category = q.get("category", "")
        if q.get("status") == "PreLaunch" or category not in ("spot", "linear"):
            return self._ok({"category": category, "list": [], "nextPageCursor": ""})
        out = []
        for sid, s in self._specs(category == "linear").items():
            row = {"symbol": sid, "baseCoin": s.base, "quoteCoin": s.quote, "status": "Trading",
                   "priceFilter": {"tickSize": _s(s.tick)}}
            if s.swap:
                row.update(contractType="LinearPerpetual", settleCoin=s.quote, launchTime="1585526400000",
                           deliveryTime="0", priceScale="2",
                           leverageFilter={"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
                           lotSizeFilter={"maxOrderQty": "1190", "minOrderQty": _s(s.min_qty),
                                          "qtyStep": _s(s.lot), "minNotionalValue": _s(s.min_notional)})
            else:
                row.update(innovation="0", marginTrading="utaOnly",
                           lotSizeFilter={"basePrecision": _s(s.lot), "quotePrecision": "0.00000001",
                                          "minOrderQty": _s(s.min_qty), "maxOrderQty": "71",
                                          "minOrderAmt": _s(s.min_notional), "maxOrderAmt": "2000000"})
            out.append(row)
        return self._ok({"category": category, "list": out, "nextPageCursor": ""})

    def _market(self, q: dict) -> Spec:
        s = self._specs(q.get("category") == "linear").get(q.get("symbol", ""))
        if s is None:
            raise Refused("bad_symbol", "params error: symbol invalid")
        return s

    async def _ticker(self, request, acc, q) -> web.Response:
        s, px = self._market(q), ""
        px = _s(self.prices[s.pair])
        return self._ok({"category": q["category"], "list": [{
            "symbol": q["symbol"], "lastPrice": px, "bid1Price": px, "bid1Size": "1", "ask1Price": px,
            "ask1Size": "1", "prevPrice24h": px, "highPrice24h": px, "lowPrice24h": px, "volume24h": "0",
            "turnover24h": "0", "price24hPcnt": "0"}]})

    async def _kline(self, request, acc, q) -> web.Response:
        s = self._market(q)
        tf = {"1": "1m", "5": "5m", "15": "15m", "60": "1h", "240": "4h", "D": "1d"}.get(q.get("interval", "1"), "1m")
        rows = self._candles(s.pair, tf)
        start, end, limit = int(q.get("start", -1)), int(q.get("end", 10**15)), int(q.get("limit", 200))
        sel = [r for r in rows if start <= r[0] <= end]
        sel = sel[:limit] if "start" in q else sel[-limit:]
        return self._ok({"category": q["category"], "symbol": q["symbol"],
                         "list": [[str(int(r[0])), *map(str, r[1:6]), "0"] for r in reversed(sel)]})

    # ---- account ----
    async def _balance(self, request, acc, q) -> web.Response:
        coins = []
        for cur, amt in acc.balances.items():
            used = self._reserved(acc, cur)
            coins.append({"coin": cur, "walletBalance": _s(amt), "equity": _s(amt), "locked": _s(used),
                          "totalOrderIM": "0", "totalPositionIM": "0", "borrowAmount": "0",
                          "accruedInterest": "0", "usdValue": _s(amt)})
        return self._ok({"list": [{"accountType": "UNIFIED", "totalEquity": "0", "coin": coins}]})

    async def _positions(self, request, acc, q) -> web.Response:
        out = []
        for sid, (qty, entry) in acc.positions.items():
            if not qty or q.get("symbol") not in (None, sid):
                continue
            mark = self.prices[LINEAR_SPECS[sid].pair]
            out.append({"positionIdx": 0, "symbol": sid, "side": "Buy" if qty > 0 else "Sell", "size": _s(abs(qty)),
                        "avgPrice": _s(entry), "positionValue": _s(abs(qty) * entry),
                        "tradeMode": 1 if acc.margin_mode.get(sid) == "isolated" else 0,
                        "leverage": str(acc.leverage.get(sid, 1)), "markPrice": _s(mark), "liqPrice": "",
                        "unrealisedPnl": _s((mark - entry) * qty), "cumRealisedPnl": "0", "positionIM": "0",
                        "positionMM": "0", "positionStatus": "Normal", "tpslMode": "Full", "riskId": 1,
                        "createdTime": str(_now()), "updatedTime": str(_now()), "isReduceOnly": False})
        return self._ok({"category": "linear", "list": out, "nextPageCursor": ""})

    async def _set_leverage(self, request, acc, q) -> web.Response:
        lev = int(D(q["buyLeverage"]))
        if not 1 <= lev <= 100:
            raise Refused("10001", f"leverage {lev} invalid")
        if acc.leverage.get(q["symbol"]) == lev:
            raise Refused("110043", "Set leverage not modified")
        acc.leverage[q["symbol"]] = lev
        return self._ok({})

    async def _set_margin_mode(self, request, acc, q) -> web.Response:
        """A unified account's margin mode is account-wide."""
        mode = {"ISOLATED_MARGIN": "isolated", "REGULAR_MARGIN": "cross"}.get(q.get("setMarginMode", ""))
        if mode is None:
            raise Refused("10001", "setMarginMode invalid")
        for sid in LINEAR_SPECS:
            acc.margin_mode[sid] = mode
        return self._ok({"reasons": []})

    async def _switch_mode(self, request, acc, q) -> web.Response:
        mode = "net_mode" if str(q.get("mode")) == "0" else "long_short_mode"
        if acc.pos_mode == mode:
            raise Refused("110025", "Position mode is not modified")
        acc.pos_mode = mode
        return self._ok({})

    async def _query_api(self, request, acc, q) -> web.Response:
        return self._ok({"id": "1", "apiKey": acc.api_key, "readOnly": 0 if acc.can_trade else 1,
                         "permissions": {"Spot": ["SpotTrade"], "ContractTrade": ["Order", "Position"],
                                         "Wallet": ["AccountTransfer", *(["Withdraw"] if acc.can_withdraw else [])]},
                         "unified": 0, "uta": 1, "isMaster": True})

    # ---- orders ----
    def _order_json(self, o: Order) -> dict:
        status = STATUS[o.status]
        if o.type == "stop" and o.status == "open":
            status = "Untriggered"
        elif o.status == "open" and o.filled:
            status = "PartiallyFilled"
        out = {"orderId": o.id, "orderLinkId": o.client_id, "symbol": o.inst, "side": o.side.capitalize(),
               "orderType": "Market" if o.type in ("market", "stop") else "Limit", "price": _s(o.price or ZERO),
               "qty": _s(o.amount), "cumExecQty": _s(o.filled), "leavesQty": _s(o.amount - o.filled),
               "cumExecValue": _s(o.filled * (o.avg or ZERO)), "cumExecFee": _s(o.fee), "avgPrice": _s(o.avg or ZERO),
               "orderStatus": status, "timeInForce": "GTC" if o.type == "limit" else "IOC",
               "triggerPrice": _s(o.trigger or ZERO), "triggerDirection": 0 if o.trigger is None else (
                   1 if o.side == "buy" else 2), "stopOrderType": "Stop" if o.trigger is not None else "",
               "cumFeeDetail": {"USDT": _s(o.fee)} if o.fee else {}, "reduceOnly": o.reduce_only, "positionIdx": 0, "createdTime": str(o.ts), "updatedTime": str(_now())}
        if o.swap:
            out["tpslMode"] = ""  # the field ccxt tells a contract order by
        else:
            out["marketUnit"] = "baseCoin"
        return out

    async def _create(self, request, acc, q) -> web.Response:
        self._forced(q)
        swap = q.get("category") == "linear"
        kind = str(q.get("orderType", "")).lower()
        trigger = D(str(q["triggerPrice"])) if q.get("triggerPrice") else None
        if not swap and trigger is not None and q.get("orderFilter") != "StopOrder":
            raise Refused("10001", "a spot conditional order needs orderFilter=StopOrder")
        if swap and trigger is not None and str(q.get("triggerDirection")) not in ("1", "2"):
            raise Refused("10001", "triggerDirection is required for conditional orders")
        if not swap and kind == "market" and q.get("marketUnit", "quoteCoin") != "baseCoin" and q["side"] == "Buy":
            raise Refused("10001", "this fake takes spot market buys in base coin only")
        if trigger is not None and kind != "market":
            raise Refused("10001", "only conditional market orders are simulated")
        o = self._place(acc, q.get("symbol", ""), swap, q["side"].lower(), "stop" if trigger is not None else kind,
                        D(str(q["qty"])), D(str(q["price"])) if q.get("price") else None, q.get("orderLinkId", ""),
                        bool(q.get("reduceOnly")))
        o.trigger = trigger
        return self._ok({"orderId": o.id, "orderLinkId": o.client_id})

    def _select(self, acc: Account, q: dict) -> list[Order]:
        swap = q.get("category") == "linear"
        wanted = q.get("orderFilter") or (None if swap else "Order")
        out = []
        for o in self.orders.values():
            if o.api_key != acc.api_key or o.swap != swap or q.get("symbol") not in (None, o.inst):
                continue
            if (q.get("orderId") and o.id != q["orderId"]) or (q.get("orderLinkId") and
                                                               o.client_id != q["orderLinkId"]):
                continue
            if wanted is not None and (wanted == "StopOrder") != (o.trigger is not None):
                continue
            out.append(o)
        return out

    async def _cancel(self, request, acc, q) -> web.Response:
        live = [o for o in self._select(acc, q) if o.status == "open"]
        if not live or not (q.get("orderId") or q.get("orderLinkId")):
            raise Refused("cancel_not_found", "order not exists or too late to cancel")
        live[-1].status = "canceled"
        return self._ok({"orderId": live[-1].id, "orderLinkId": live[-1].client_id})

    async def _realtime(self, request, acc, q) -> web.Response:
        """Open orders; one named by id or link id is found whatever its state (Bybit: among the last 500)."""
        found = self._select(acc, q)
        if not (q.get("orderId") or q.get("orderLinkId")) and str(q.get("openOnly", "0")) == "0":
            found = [o for o in found if o.status == "open"]
        return self._ok({"category": q.get("category"), "list": [self._order_json(o) for o in reversed(found)],
                         "nextPageCursor": ""})

    async def _history(self, request, acc, q) -> web.Response:
        found = [o for o in self._select(acc, q) if o.status != "open"]
        return self._ok({"category": q.get("category"), "list": [self._order_json(o) for o in reversed(found)],
                         "nextPageCursor": ""})

    async def _executions(self, request, acc, q) -> web.Response:
        swap = q.get("category") == "linear"
        start = int(q.get("startTime", 0))
        end = int(q.get("endTime", start + 7 * 86_400_000 if "startTime" in q else 10**15))
        out = []
        for f in self.fills:
            o = f.order
            if o.api_key != acc.api_key or o.swap != swap or q.get("symbol") not in (None, o.inst):
                continue
            if not start <= f.ts <= end or (q.get("orderId") and o.id != q["orderId"]):
                continue
            row = {"symbol": o.inst, "orderId": o.id, "orderLinkId": o.client_id, "side": o.side.capitalize(),
                   "orderPrice": _s(o.price or ZERO), "orderQty": _s(o.amount), "orderType": "Limit" if
                   o.type == "limit" else "Market", "stopOrderType": "Stop" if o.trigger is not None else "",
                   "execId": f.id, "execPrice": _s(f.price), "execQty": _s(f.amount),
                   "execValue": _s(f.price * f.amount), "execFee": _s(f.fee), "feeRate": "0.001",
                   "feeCurrency": "USDT", "execType": "Trade", "execTime": str(f.ts), "isMaker": f.maker,
                   "leavesQty": _s(o.amount - o.filled), "closedSize": "0", "seq": int(f.id)}
            if swap:
                row["createType"] = "CreateByUser"
            out.append(row)
        out.reverse()  # newest first
        return self._ok({"category": q.get("category"), "list": out[: int(q.get("limit", 50))],
                         "nextPageCursor": ""})
