"""Upbit over ccxt: identifier lookups, fills from orders, price-band ticks and minimum totals, in a ccxt subclass."""

# Where ccxt's upbit class leaves Upbit's own ways to the caller, `exchange_class()` (the class the gateway builds
# for "upbit") fills in, so the gateway speaks ccxt's unified API to Upbit as to every other venue:
# - An order is found or cancelled by `identifier` (our client id) through GET / DELETE /v1/order; ccxt's unified
#   calls always send a `uuid`, None included.
# - There is no fills endpoint: fills are the `trades` of an order's detail (GET /v1/order), which carry no fee of
#   their own (the order's `paid_fee` is shared out by value). Orders are found in the open list, the closed list
#   (by creation time, at most 7 days a request) and among the orders this process has seen open or filling, so a
#   limit order resting for weeks is not missed when it fills.
# - The price decides the tick (KRW_TICKS, USDT_TICKS): `price_to_precision` rounds each price on its own band's
#   tick, and the markets carry the tick at the current price (Upbit's /v1/orderbook/instruments) and the minimum
#   order total (MIN_TOTAL) as precision and limits.
# - POST /v1/orders answers on acceptance, before any matching: the created order's status is left unknown (None)
#   so the gateway asks for it.
# - A market buy is a quote total (`ord_type=price`); when the total does not divide into 1e-8 units Upbit cancels
#   the unspendable rest, so the order ends `cancel` with its volume bought: that order is closed, its amount what
#   it bought.
# - No stop orders: the gateway refuses them before anything is sent (Venue.stops).

from __future__ import annotations

import functools
from collections import OrderedDict
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from engine.exchange.ccxt_lazy import ccxt
from engine.exchange.protocol import ExchangeError, MissingPermission

if TYPE_CHECKING:
    from engine.exchange.ccxt_gateway import CcxtGateway

D = Decimal
# (price at or above, tick), the highest band first: Upbit's KRW table as of 2025-07-31 and its USDT table
KRW_TICKS = [(D(2_000_000), D(1000)), (D(1_000_000), D(1000)), (D(500_000), D(500)), (D(100_000), D(100)),
             (D(50_000), D(50)), (D(10_000), D(10)), (D(5_000), D(5)), (D(1_000), D(1)), (D(100), D(1)),
             (D(10), D("0.01")), (D(1), D("0.001")), (D("0.1"), D("0.0001")), (D("0.01"), D("0.00001")),
             (D("0.001"), D("0.000001")), (D("0.0001"), D("0.0000001")), (D(0), D("0.00000001"))]
USDT_TICKS = [(D(10), D("0.01")), (D(1), D("0.001")), (D("0.1"), D("0.0001")), (D("0.01"), D("0.00001")),
              (D("0.001"), D("0.000001")), (D("0.0001"), D("0.0000001")), (D(0), D("0.00000001"))]
MIN_TOTAL = {"KRW": D(5000), "USDT": D("0.5"), "BTC": D("0.00005")}  # the smallest order total per quote coin
WEEK_MS = 7 * 86_400_000  # the widest creation-time window /v1/orders/closed answers
OPEN_PAGE, CLOSED_PAGE = 100, 1000  # the most orders one page of each list holds
KEPT = 1000  # finished orders whose trades a gateway keeps (their trades never change)
UNIT = D("0.00000001")


def tick_for(quote: str, price: Decimal) -> Decimal | None:
    """Upbit's price unit for `price` on a `quote` market (None for a quote coin with no table here)."""
    if quote == "BTC":
        return UNIT
    table = {"KRW": KRW_TICKS, "USDT": USDT_TICKS}.get(quote)
    return None if table is None else next(t for floor, t in table if price >= floor)


def _plain(x: Decimal) -> str:
    return format(x.normalize(), "f")


@functools.cache
def exchange_class() -> type:
    """ccxt's upbit class with Upbit's ways filled in (built on first use: ccxt's exchanges load lazily)."""
    return type("upbit", (UpbitWays, ccxt.upbit), {"__module__": __name__})


class UpbitWays:
    """What ccxt's upbit class lacks, mixed in ahead of it (see the notes atop this module)."""

    def describe(self) -> dict:
        return self.deep_extend(super().describe(), {
            "has": {"fetchMyTrades": True},
            "exceptions": {"broad": {
                "under_min_total": ccxt.InvalidOrder, "invalid_price": ccxt.InvalidOrder,
                "invalid_volume": ccxt.InvalidOrder, "validation_error": ccxt.InvalidOrder,
                "invalid_query_payload": ccxt.AuthenticationError,
                "expired_access_key": ccxt.AuthenticationError,
                "no_authorization_i_p": ccxt.PermissionDenied, "too_many_requests": ccxt.RateLimitExceeded}},
        })

    def __init__(self, config: dict | None = None):
        super().__init__(config or {})
        self.tb_watch: dict[str, str] = {}  # uuid -> symbol: open or filling orders whose fills are pending
        self.tb_partial: dict[str, tuple[Any, list[dict]]] = {}  # open orders: (executed volume, trades)
        self.tb_done: OrderedDict[str, list[dict]] = OrderedDict()  # finished orders' trades, oldest first

    # ---- markets: ticks and minimum totals ----
    async def fetch_markets(self, params: dict | None = None) -> list[dict]:
        markets = await super().fetch_markets(params or {})
        ticks: dict[str, str] = {}
        for query in self.ids_query_strings([m["id"] for m in markets], 4000):
            for row in await self.publicGetOrderbookInstruments({"markets": query}):
                ticks[row["market"]] = row.get("tick_size")
        for m in markets:
            if ticks.get(m["id"]):
                m["precision"]["price"] = self.parse_number(ticks[m["id"]])
            if m["quote"] in MIN_TOTAL:
                m["limits"]["cost"]["min"] = float(MIN_TOTAL[m["quote"]])
        return markets

    def price_to_precision(self, symbol: str, price: Any) -> str:
        p = D(str(price))
        tick = tick_for(self.market(symbol)["quote"], p)
        if tick is None:
            return super().price_to_precision(symbol, price)
        # rounded up past a band's top, a price lands on the next band's floor, a multiple of its tick too
        return _plain((p / tick).to_integral_value(ROUND_HALF_UP) * tick)

    def cost_to_precision(self, symbol: str, cost: Any) -> str:
        """A market buy's total: whole won on KRW markets (as Upbit's own examples send), else 1e-8 units."""
        unit = D(1) if self.market(symbol)["quote"] == "KRW" else UNIT
        return _plain(D(str(cost)).quantize(unit, rounding=ROUND_DOWN))

    # ---- orders ----
    async def create_order(self, symbol, type, side, amount, price=None, params=None) -> dict:
        order = await super().create_order(symbol, type, side, amount, price, params or {})
        return {**order, "status": None}  # answered on acceptance, before matching: the state is unknown

    async def fetch_order(self, id, symbol=None, params=None) -> dict:
        if id is not None:
            return await super().fetch_order(id, symbol, params or {})
        await self.load_markets()
        return self.parse_order(await self.privateGetOrder(self._named(params)))

    async def cancel_order(self, id, symbol=None, params=None) -> dict:
        if id is not None:
            return await super().cancel_order(id, symbol, params or {})
        await self.load_markets()
        return self.parse_order(await self.privateDeleteOrder(self._named(params)))

    def _named(self, params: dict | None) -> dict:
        if not (params or {}).get("identifier"):
            raise ccxt.ArgumentsRequired("upbit: an order needs a uuid or an identifier")
        return {"identifier": params["identifier"]}

    async def fetch_open_orders(self, symbol=None, since=None, limit=None, params=None) -> list[dict]:
        out: list[dict] = []
        page = 1
        while True:
            got = await super().fetch_open_orders(symbol, since, None,
                                                  {**(params or {}), "page": page, "limit": OPEN_PAGE})
            out += got
            if len(got) < OPEN_PAGE:
                return out[:limit] if limit else out
            page += 1

    def parse_order(self, order: dict, market: Any = None) -> dict:
        out = super().parse_order(order, market)
        if order.get("ord_type") == "price" and order.get("state") != "wait":
            out["amount"], out["remaining"] = out["filled"], 0  # a market buy's amount is what it bought
            if out["status"] == "canceled" and out["filled"]:
                out["status"] = "closed"  # only the unspendable rest of its total was cancelled
        if out["status"] == "open" or (out["filled"] and out["id"] not in self.tb_done):
            self.tb_watch[out["id"]] = out["symbol"]
        return out

    # ---- fills ----
    async def fetch_my_trades(self, symbol=None, since=None, limit=None, params=None) -> list[dict]:
        """Our fills in `symbol` at or after `since` (ms), oldest first, from the orders' trades."""
        if symbol is None:
            raise ccxt.ArgumentsRequired("upbit: fills are listed one market at a time")
        await self.load_markets()
        market = self.market(symbol)
        listed = {o["id"]: o for o in await self.fetch_open_orders(symbol)}
        closed = await self._closed(market["id"], since)
        for u, o in closed.items():
            if not float(o.get("executed_volume") or 0):
                self.tb_watch.pop(u, None)  # cancelled unfilled: nothing to tell
        wanted = [u for u, o in listed.items() if o["filled"] and self.tb_partial.get(u, (None,))[0] != o[
            "filled"]]
        wanted += [u for u, o in closed.items() if float(o.get("executed_volume") or 0) and u not in self.tb_done]
        wanted += [u for u, s in self.tb_watch.items() if s == symbol and u not in listed and u not in closed
                   and u not in self.tb_done]
        for u in dict.fromkeys(wanted):
            self._keep(self.parse_order(await self.privateGetOrder({"uuid": u})))
        trades = [t for ts in (*self.tb_done.values(), *(p[1] for p in self.tb_partial.values())) for t in ts
                  if t["symbol"] == symbol and (since is None or t["timestamp"] >= since)]
        trades.sort(key=lambda t: (t["timestamp"], t["id"]))
        return trades[:limit] if limit else trades

    async def _closed(self, market_id: str, since: int | None) -> dict[str, dict]:
        """Finished orders created at or after `since` (the last 7 days without one), by uuid."""
        request: dict[str, Any] = {"market": market_id, "limit": CLOSED_PAGE}
        if since is None:
            return {o["uuid"]: o for o in await self.privateGetOrdersClosed(request)}
        out: dict[str, dict] = {}
        start, now = since - 1000, self.milliseconds()  # created_at keeps whole seconds
        while start <= now:
            window = {**request, "order_by": "asc", "start_time": start}
            if start + WEEK_MS < now:
                window["end_time"] = start + WEEK_MS
            page = await self.privateGetOrdersClosed(window)
            out.update((o["uuid"], o) for o in page)
            last = max((self.parse8601(o["created_at"]) for o in page), default=start)
            start = max(last, start + 1) if len(page) >= CLOSED_PAGE else start + WEEK_MS + 1
        return out

    def _keep(self, order: dict) -> None:
        uuid, trades = order["id"], self._fills(order)
        if order["status"] == "open":
            self.tb_partial[uuid] = (order["filled"], trades)
            return
        self.tb_partial.pop(uuid, None)
        self.tb_watch.pop(uuid, None)
        self.tb_done[uuid] = trades
        while len(self.tb_done) > KEPT:
            self.tb_done.popitem(last=False)

    def _fills(self, order: dict) -> list[dict]:
        """An order's trades as ccxt trades, the order's paid fee shared out by each trade's value."""
        info = order["info"]
        raw = info.get("trades") or []
        paid, quote = D(str(info.get("paid_fee") or 0)), self.market(order["symbol"])["quote"]
        whole = sum((D(str(t["funds"])) for t in raw), D(0))
        left, out = paid, []
        for i, t in enumerate(raw):
            fee = left if i == len(raw) - 1 else (paid * D(str(t["funds"])) / whole).quantize(UNIT)
            left -= fee
            ts = self.parse8601(t.get("created_at")) or order["timestamp"]
            out.append({"id": t["uuid"], "order": order["id"], "timestamp": ts, "datetime": self.iso8601(ts),
                        "symbol": order["symbol"], "side": order["side"], "type": order["type"],
                        "price": t["price"], "amount": t["volume"], "cost": t["funds"],
                        "fee": {"cost": _plain(fee), "currency": quote},
                        "info": {**t, "identifier": order.get("clientOrderId")}})
        return out


async def can_trade(gw: CcxtGateway) -> bool:
    """Whether the key may place orders: Upbit's order test (POST /v1/orders/test, validated, never placed) answers
    `out_of_scope` without the permission; a refusal of the order itself (funds) means the key may trade."""
    markets = await gw.load_markets()
    symbol = "BTC/KRW" if "BTC/KRW" in markets else next(iter(markets))
    m = markets[symbol]
    total = float(m.min_cost or 0) or 5000.0
    try:
        await gw._call("order_test", lambda: gw._ex.privatePostOrdersTest(
            {"market": gw._ex.market_id(symbol), "side": "bid", "ord_type": "price",
             "price": gw._ex.cost_to_precision(symbol, total)}), private=True)
    except MissingPermission:
        return False
    except ExchangeError as e:
        if e.reason in ("invalid_key", "exchange_unavailable"):
            raise
    return True
