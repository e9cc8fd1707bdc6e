"""Pure conversions from ccxt's unified structures to the protocol's value types (Decimal at the boundary)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.exchange.protocol import Market, MarketType, OrderInfo, OrderRequest, OrderStatus, OrderType, Side

D = Decimal
STATUS = {"open": OrderStatus.OPEN, "closed": OrderStatus.CLOSED, "canceled": OrderStatus.CANCELED,
          "cancelled": OrderStatus.CANCELED, "rejected": OrderStatus.REJECTED, "expired": OrderStatus.EXPIRED}


def dec(x: Any) -> Decimal | None:
    return None if x is None or x == "" else D(str(x))


def to_market(m: dict, market_type: MarketType) -> Market:
    """A ccxt market with its precision (tick and lot sizes), limits and contract size."""
    prec, limits = m.get("precision") or {}, m.get("limits") or {}
    return Market(
        symbol=m["symbol"], base=m["base"], quote=m["quote"], type=market_type,
        price_step=dec(prec.get("price")) or D(0), amount_step=dec(prec.get("amount")) or D(0),
        min_amount=dec((limits.get("amount") or {}).get("min")),
        min_cost=dec((limits.get("cost") or {}).get("min")),
        contract_size=dec(m.get("contractSize")) or D(1),
        max_leverage=int((limits.get("leverage") or {}).get("max") or 0) or None,
        active=m.get("active") is not False,
        maker_fee=dec(m.get("maker")), taker_fee=dec(m.get("taker")),
        amount_unit="contract" if m.get("contract") else "base",
    )


def to_order_info(o: dict, fallback: OrderRequest | None = None) -> OrderInfo:
    """A ccxt order (or a bare create acknowledgement completed from the request) as the protocol's OrderInfo."""
    status = STATUS.get(str(o.get("status") or "").lower(), OrderStatus.OPEN)
    side = o.get("side") or (fallback.side.value if fallback else "buy")
    typ = str(o.get("type") or (fallback.type.value if fallback else "limit")).lower()
    trigger = dec(o.get("triggerPrice") or o.get("stopPrice"))
    otype = OrderType.STOP_MARKET if trigger and typ != "limit" else (
        OrderType.MARKET if typ == "market" else OrderType.LIMIT)
    fee = o.get("fee") or {}
    amount = dec(o.get("amount")) or (fallback.amount if fallback else D(0))
    raw = o.get("info") or {}
    client_id = o.get("clientOrderId") or raw.get("algoClOrdId") or (fallback and fallback.client_order_id)
    filled, average = dec(o.get("filled")) or D(0), dec(o.get("average"))
    if raw.get("algoId") and "actualSz" in raw:  # an OKX trigger order: what it became
        otype, filled, average = OrderType.STOP_MARKET, dec(raw.get("actualSz")) or D(0), dec(raw.get("actualPx"))
    return OrderInfo(
        id=str(o.get("id")), client_order_id=client_id or None,
        symbol=o.get("symbol") or (fallback.symbol if fallback else ""), side=Side(side), type=otype,
        status=status, amount=amount, filled=filled, price=dec(o.get("price")),
        average=average, trigger_price=trigger, reduce_only=bool(o.get("reduceOnly")),
        fee=abs(dec(fee.get("cost")) or D(0)), fee_currency=fee.get("currency"), ts=o.get("timestamp"),
    )
