"""Our fills over ccxt, each told by the client id of the order (or the trigger order) it belongs to."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from engine.exchange.ccxt_convert import dec
from engine.exchange.protocol import Side, Trade, TradesPage

if TYPE_CHECKING:
    from engine.exchange.ccxt_gateway import CcxtGateway

D = Decimal
TRADE_CLIENT_ID = ("clOrdId", "clientOrderId", "orderLinkId", "clientOid", "identifier")  # the venues' names
OKX_TRADES_PAGE = 100  # OKX's page of fills (the newest first)


class CcxtTrades:
    """The trades of one gateway's account; remembers which OKX orders came from which trigger order."""

    def __init__(self, gw: CcxtGateway):
        self._gw = gw
        self._algo_ids: dict[str, str | None] = {}  # OKX: child order id -> its trigger order's client id

    async def fetch_my_trades(self, symbol: str, since: int | None = None, limit: int | None = None) -> TradesPage:
        """Trades at or after `since` (ms); the cursor is the newest trade's time, so a page boundary inside one
        millisecond repeats a trade rather than losing one (fills are keyed by trade id downstream)."""
        gw = self._gw
        await gw.load_markets()
        raw = await gw._call("fetch_my_trades", lambda: gw._ex.fetch_my_trades(symbol, since, limit), private=True)
        if gw.exchange_id == "okx" and since is not None and limit is None:
            raw = await self._okx_older_trades(symbol, since, raw)
        plans = gw._plans
        if plans is not None:  # Bitget: which of these orders fired plans became, learnt in one pass
            orders = {str(t["order"]) for t in raw if t.get("order") and not _client_id(t)}
            await gw._call("plan_orders", lambda: plans.resolve(symbol, orders), private=True)
        trades = []
        for t in sorted(raw, key=lambda t: (t.get("timestamp") or 0, str(t.get("id")))):
            fee = t.get("fee") or {}
            info = t.get("info") or {}
            cid = _client_id(t)
            if not cid and gw._triggers_apart and gw.exchange_id == "okx" and t.get("order"):
                cid = await self._algo_client_id(symbol, str(t["order"]))
            elif not cid and plans is not None and t.get("order"):
                cid = plans.client_id_of(str(t["order"]))
            trades.append(Trade(str(t["id"]), str(t.get("order")), cid or None,
                                t["symbol"], Side(t["side"]), D(str(t["price"])), D(str(t["amount"])),
                                abs(dec(fee.get("cost")) or D(0)), fee.get("currency"), int(t["timestamp"]),
                                bool(info.get("reduceOnly") in (True, "true"))))
        cursor = trades[-1].ts if trades else since
        return TradesPage(trades, cursor)

    async def _okx_older_trades(self, symbol: str, since: int, raw: list[dict]) -> list[dict]:
        """OKX answers the newest page of trades after `since`: page back with `until` until nothing is new, so
        a busy interval never loses the trades between `since` and the newest page."""
        gw = self._gw
        seen = {str(t["id"]) for t in raw}
        page = raw
        while len(page) >= OKX_TRADES_PAGE:  # a full page: there may be older ones
            until = min(int(t["timestamp"]) for t in page)
            page = await gw._call("fetch_my_trades", lambda u=until: gw._ex.fetch_my_trades(
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
            gw = self._gw
            raw = await gw._call("fetch_order", lambda: gw._ex.fetch_order(order_id, symbol), private=True)
            self._algo_ids[order_id] = (raw.get("info") or {}).get("algoClOrdId") or None
        return self._algo_ids[order_id]


def _client_id(trade: dict) -> str | None:
    info = trade.get("info") or {}
    return next((info[k] for k in TRADE_CLIENT_ID if info.get(k)), None)
