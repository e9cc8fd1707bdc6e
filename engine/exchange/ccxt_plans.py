"""Bitget trigger ("plan") orders over ccxt: found among the open and the past plan orders, completed from the
market order each became when it fired, and that child order's fills told by the plan's client id."""

# A Bitget plan order lives apart from plain orders (its own ids, its own endpoints; the plain order-detail
# endpoint does not know it). When the price reaches it, Bitget places a new market order under a new order id
# and no client id of ours; fills name only that order id. The child is found in the futures plan history
# (`executeOrderId`) or, for spot, through the plan's sub-order list.

from __future__ import annotations

from typing import Any

from engine.exchange.ccxt_lazy import ccxt

SPOT_SUB_ORDERS = "v2/spot/trade/plan-sub-order"  # not among ccxt's named endpoints: 20 a second, weight 1


class BitgetPlans:
    """Plan-order lookups for one gateway (one account, one market type). Raw ccxt calls: the caller retries them
    and charges their weights."""

    def __init__(self, exchange: ccxt.Exchange, swap: bool):
        self._ex, self._swap = exchange, swap
        self._children: dict[str, str | None] = {}  # child order id -> its plan's client id
        self._resolved: set[str] = set()  # fired plans whose child is known
        self._plain: set[str] = set()  # order ids known not to be children of a fired plan

    def _params(self, client_id: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"trigger": True}
        if self._swap and client_id:  # the futures plan lists filter by clientOid; spot's take no such filter
            params["clientOrderId"] = client_id
        return params

    async def find(self, symbol: str, order_id: str | None, client_id: str | None) -> dict:
        """The plan order (a ccxt order), a fired one with the filled amount, average and fee of its child order;
        ccxt.OrderNotFound if neither the open nor the past plan orders hold it."""
        for fetch in (self._ex.fetch_open_orders, self._ex.fetch_canceled_and_closed_orders):
            for o in await fetch(symbol, None, None, self._params(client_id)):
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

    async def client_id_of(self, symbol: str, order_id: str) -> str | None:
        """The client id of the plan that became order `order_id`; None for an order placed as it is."""
        if order_id not in self._children and order_id not in self._plain:
            for plan in await self._ex.fetch_canceled_and_closed_orders(symbol, None, None, self._params(None)):
                if plan.get("status") == "closed" and str(plan.get("id")) not in self._resolved:
                    await self._child_id(symbol, plan)
            if order_id not in self._children:  # its fill exists, so a plan that made it has fired already
                self._plain.add(order_id)
        return self._children.get(order_id)
