"""An order request as ccxt's create_order arguments: sizes through the market's precision and limits, venue params."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.exchange.ccxt_lazy import ccxt
from engine.exchange.protocol import BelowMinimum, InvalidOrder, MarginMode, MarketType, OrderRequest, OrderType, Side

if TYPE_CHECKING:
    from engine.exchange.ccxt_gateway import CcxtGateway

D = Decimal


async def create_args(gw: CcxtGateway, r: OrderRequest) -> tuple[str, float, float | None, dict[str, Any]]:
    """(ccxt order type, amount, price, params) for `r`; InvalidOrder or BelowMinimum before anything is sent."""
    amount, price, trigger = await _prepared(gw, r)
    params = _order_params(gw, r, trigger)
    if r.side == Side.BUY and r.type != OrderType.LIMIT and gw.market_type in gw.venue.market_buys_in_quote:
        # the venue takes a market buy as a quote-coin total: our base amount at the trigger or last price
        ref = D(str(trigger)) if trigger is not None else (await gw.fetch_ticker(r.symbol)).last
        params["cost"] = float(D(str(amount)) * ref)
    ccxt_type = "market" if r.type in (OrderType.MARKET, OrderType.STOP_MARKET) else "limit"
    return ccxt_type, amount, price, params


async def _prepared(gw: CcxtGateway, r: OrderRequest) -> tuple[float, float | None, float | None]:
    """Amount and prices through ccxt's precision, refused below the market's minimums with the numbers."""
    m = await gw.market(r.symbol)
    if not m.active:
        raise InvalidOrder(f"{gw.exchange_id}: market {r.symbol} is not active")
    unit = "contracts" if gw.market_type == MarketType.SWAP else m.base
    ex = gw._ex
    try:
        amount = D(ex.amount_to_precision(r.symbol, float(r.amount)))
    except ccxt.InvalidOrder:
        amount = D(0)
    if amount <= 0:
        raise BelowMinimum(f"{r.symbol}: amount {r.amount} {unit} is below the minimum "
                           f"{m.min_amount or m.amount_step} {unit} (it rounds to 0 at the lot size "
                           f"{m.amount_step})")
    price = D(ex.price_to_precision(r.symbol, float(r.price))) if r.price is not None else None
    trigger = (D(ex.price_to_precision(r.symbol, float(r.trigger_price)))
               if r.trigger_price is not None else None)
    if r.type == OrderType.LIMIT and price is None:
        raise InvalidOrder("a limit order needs a price")
    if r.type == OrderType.STOP_MARKET and trigger is None:
        raise InvalidOrder("a stop order needs a trigger price")
    if m.min_amount is not None and amount < m.min_amount and not r.reduce_only:
        raise BelowMinimum(f"{r.symbol}: amount {amount} {unit} is below the minimum {m.min_amount} {unit}")
    if m.min_cost is not None and not r.reduce_only:
        ref = price or trigger or (await gw.fetch_ticker(r.symbol)).last
        cost = amount * ref * m.contract_size
        if cost < m.min_cost:
            raise BelowMinimum(f"{r.symbol}: order value {cost.normalize():f} {m.quote} is below the minimum "
                               f"{m.min_cost.normalize():f} {m.quote}")
    return float(amount), float(price) if price is not None else None, (
        float(trigger) if trigger is not None else None)


def _order_params(gw: CcxtGateway, r: OrderRequest, trigger: float | None) -> dict[str, Any]:
    venue, market_type = gw.venue, gw.market_type
    id_param = venue.client_id_param
    if trigger is not None:
        id_param = venue.trigger_client_id_param.get(market_type, id_param)
    params: dict[str, Any] = {id_param: r.client_order_id}
    if r.reduce_only and market_type == MarketType.SWAP:
        params["reduceOnly"] = True
    if r.post_only:
        params["postOnly"] = True
    if trigger is not None:
        params["triggerPrice"] = trigger
    if gw.exchange_id == "okx":
        if market_type == MarketType.SWAP:
            params["tdMode"] = gw._modes.get(r.symbol, MarginMode.CROSS.value)
        else:
            params["tgtCcy"] = "base_ccy"  # market buys in base units like every other order
    elif market_type == MarketType.SWAP and r.symbol in gw._modes:
        params["marginMode"] = gw._modes[r.symbol]
    if trigger is not None and gw.exchange_id == "bybit" and market_type == MarketType.SWAP:
        # a stop: a sell fires as the price falls to the trigger, a buy as it rises
        params["triggerDirection"] = "descending" if r.side == Side.SELL else "ascending"
    if trigger is not None and gw.exchange_id == "bitget":
        params["triggerType"] = "fill_price"  # the last traded price, as on the other venues (ccxt: mark)
    return params
