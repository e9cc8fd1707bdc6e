"""Bitget trigger ("plan") orders over ccxt: listed and found a page at a time, fired ones traced to their orders."""

# A Bitget plan order lives apart from plain orders (its own ids, its own endpoints; the plain order-detail
# endpoint does not know it). When the price reaches it, Bitget places a new market order under a new order id
# and no client id of ours; fills name only that order id. The child is found in the futures plan history
# (`executeOrderId`) or, for spot, through the plan's sub-order list. Plan lists come a page at a time, the newest
# first (older pages by `idLessThan`); spot's take one market each and keep a market buy's size in the quote coin.

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from engine.exchange.ccxt_lazy import ccxt

SPOT_SUB_ORDERS = "v2/spot/trade/plan-sub-order"  # not among ccxt's named endpoints: 20 a second, weight 1
PAGE = 100  # the most plan orders Bitget answers at once (spot's open list: 20 unless asked for more)
Fetch = Callable[..., Awaitable[list[dict]]]


class BitgetPlans:
    """Plan-order lookups for one gateway (one account, one market type). Raw ccxt calls: the caller retries them
    and charges their weights."""

    def __init__(self, exchange: ccxt.Exchange, swap: bool):
        self._ex, self._swap = exchange, swap
        self._children: dict[str, str | None] = {}  # child order id -> its plan's client id
        self._resolved: set[str] = set()  # fired plans whose child is known
        self._plain: set[str] = set()  # order ids known not to be children of a fired plan
        self._symbols: set[str] = set()  # spot markets we placed or looked for plans in

    def _params(self, client_id: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"trigger": True}
        if self._swap and client_id:  # the futures plan lists filter by clientOid; spot's take no such filter
            params["clientOrderId"] = client_id
        return params

    async def _pages(self, fetch: Fetch, symbol: str | None, client_id: str | None = None
                     ) -> AsyncIterator[list[dict]]:
        """The plan orders `fetch` lists (open or past), a page at a time from the newest."""
        params = self._params(client_id)
        while True:
            page = await fetch(symbol, None, PAGE, params)
            yield [self._in_base(o) for o in page]
            if len(page) < PAGE:
                return
            oldest = min(int(o["id"]) for o in page)
            if params.get("idLessThan") is not None and oldest >= int(params["idLessThan"]):
                return  # no older page after all
            params = {**params, "idLessThan": str(oldest)}

    def _in_base(self, plan: dict) -> dict:
        """A spot market buy plan keeps its size in the quote coin (planType "total", as we sent it: our base amount
        at the trigger price): the base amount again, on the market's lot."""
        info = plan.get("info") or {}
        if self._swap or str(info.get("planType", "")).lower() != "total" or not info.get("triggerPrice"):
            return plan
        lot = Decimal(str(self._ex.market(plan["symbol"])["precision"]["amount"]))
        base = (Decimal(str(info["size"])) / Decimal(str(info["triggerPrice"])) / lot).to_integral_value(
            ROUND_HALF_EVEN) * lot
        return {**plan, "amount": f"{base.normalize():f}"}

    async def open_orders(self, symbol: str | None, plain: list[dict]) -> list[dict]:
        """The open plan orders (ccxt orders). Without a symbol, spot asks each market we placed or looked for plans
        in, have plain orders `plain` in, or hold the coin of: Bitget lists spot plans one market at a time."""
        if symbol is not None or self._swap:
            symbols: list[str | None] = [symbol]
        else:
            symbols = sorted(self._symbols | {o["symbol"] for o in plain} | await self._held())
        out: list[dict] = []
        for s in symbols:
            if s is not None:
                self._symbols.add(s)
            async for page in self._pages(self._ex.fetch_open_orders, s):
                out += page
        return out

    async def _held(self) -> set[str]:
        """The spot markets whose coin the account holds."""
        coins = {c for c, total in ((await self._ex.fetch_balance()).get("total") or {}).items() if total}
        return {s for s, m in self._ex.markets.items() if m.get("spot") and m.get("base") in coins}

    async def find(self, symbol: str, order_id: str | None, client_id: str | None) -> dict:
        """The plan order (a ccxt order), a fired one with the filled amount, average and fee of its child order;
        ccxt.OrderNotFound if neither the open nor the past plan orders hold it."""
        self._symbols.add(symbol)
        for fetch in (self._ex.fetch_open_orders, self._ex.fetch_canceled_and_closed_orders):
            async with contextlib.aclosing(self._pages(fetch, symbol, client_id)) as pages:
                async for page in pages:
                    for o in page:
                        if (order_id and str(o.get("id")) == order_id) or (
                                not order_id and client_id and o.get("clientOrderId") == client_id):
                            return await self._completed(symbol, o)
        raise ccxt.OrderNotFound(f"bitget: no plan order {order_id or client_id}")

    async def _completed(self, symbol: str, plan: dict) -> dict:
        if plan.get("status") != "closed":
            return plan
        child_id = await self._child_id(symbol, plan)
        if child_id is None:
            return plan
        child = await self._ex.fetch_order(child_id, symbol)
        return {**plan, "filled": child.get("filled"), "average": child.get("average"), "fee": child.get("fee"),
                "amount": plan.get("amount") or child.get("amount")}

    async def _child_id(self, symbol: str, plan: dict) -> str | None:
        info = plan.get("info") or {}
        child = info.get("executeOrderId") or None
        if child is None and not self._swap:
            answer = await self._ex.request(SPOT_SUB_ORDERS, ["private", "spot"], "GET",
                                            {"planOrderId": str(plan["id"])}, {"cost": 1})
            subs = [s for s in (answer or {}).get("data") or [] if s.get("orderId")]
            child = str(subs[0]["orderId"]) if subs else None
        if child is not None:
            self._children[str(child)] = plan.get("clientOrderId") or None
            self._resolved.add(str(plan["id"]))
        return child

    async def resolve(self, symbol: str, order_ids: set[str]) -> None:
        """Learn which of `order_ids` (orders that have fills) a fired plan became, paging back through the past
        plans until all are known; the others were placed as they are. Then `client_id_of` tells."""
        wanted = {o for o in order_ids if o not in self._children and o not in self._plain}
        if not wanted:
            return
        async with contextlib.aclosing(self._pages(self._ex.fetch_canceled_and_closed_orders, symbol)) as pages:
            async for page in pages:
                for plan in page:
                    if plan.get("status") == "closed" and str(plan.get("id")) not in self._resolved:
                        await self._child_id(symbol, plan)
                if wanted <= self._children.keys():
                    break
        self._plain |= wanted - self._children.keys()  # their fills exist, so a plan that made them has fired

    def client_id_of(self, order_id: str) -> str | None:
        """The client id of the plan that became order `order_id` (after `resolve`); None for an order placed as it
        is."""
        return self._children.get(order_id)
