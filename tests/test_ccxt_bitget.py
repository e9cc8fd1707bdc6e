"""Bitget plan (stop) orders through the ccxt gateway against the fake Bitget v2: a spot buy stop's base amount
(Bitget keeps it in USDT), listing without a symbol, and plan lists longer than one page."""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as D

import pytest

from engine.exchange.protocol import MarketType, OrderRequest, OrderStatus, OrderType, Side
from tests.fakes.fake_bitget import PLAN_PAGE
from tests.fakes.gateways import gateway, venue

SPOT, SWAP = "BTC/USDT", "BTC/USDT:USDT"


def stop(cid: str, side: Side = Side.SELL, amount: str = "0.002", trigger: str = "58000", symbol: str = SPOT
         ) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.STOP_MARKET, D(amount), cid, trigger_price=D(trigger))


@pytest.mark.parametrize(("amount", "trigger"), [("0.002", "61000"), ("0.0137", "61234.57")])
async def test_an_open_spot_buy_stop_reports_its_base_amount(amount, trigger):
    """Bitget keeps a spot market buy plan in USDT (`size` = base amount at the trigger price): we report the base
    amount we asked for, found by client id and listed."""
    async with venue("bitget") as fake:
        g = gateway(fake)
        req = stop("tbBgBuy1", Side.BUY, amount, trigger)
        try:
            await g.create_order(req)
            found = await g.fetch_order(SPOT, client_order_id=req.client_order_id)
            listed = await g.fetch_open_orders(SPOT)
        finally:
            await g.close()
        (plan,) = fake.algos.values()
        # what Bitget holds: USDT, to the cent
        assert fake.plan_quote[plan.id] == (D(amount) * D(trigger)).quantize(D("0.01"), rounding=ROUND_DOWN)
        assert found.status == OrderStatus.OPEN and found.type == OrderType.STOP_MARKET
        assert found.amount == D(amount) and found.trigger_price == D(trigger)
        assert [(o.client_order_id, o.amount) for o in listed] == [(req.client_order_id, D(amount))]


async def test_spot_open_orders_without_a_symbol_list_plain_and_stop_orders():
    """Bitget's spot plan lists take one symbol: without one, every market we dealt in, have plain orders in or
    hold the coin of is asked, also by a gateway that has not dealt in any yet (a restart): BTC held, ETH with a
    plain order."""
    async with venue("bitget", balances={"USDT": "100000", "BTC": "1"}) as fake:
        g, again = gateway(fake), gateway(fake)
        reqs = [OrderRequest("ETH/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), "tbBgLim1", price=D(2000)),
                stop("tbBgSell1"), stop("tbBgBuy2", Side.BUY, "0.1", "4000", "ETH/USDT")]
        try:
            for r in reqs:
                await g.create_order(r)
            mine = await g.fetch_open_orders()
            after_restart = await again.fetch_open_orders()
        finally:
            await g.close()
            await again.close()
        want = sorted(r.client_order_id for r in reqs)
        assert sorted(o.client_order_id for o in mine) == want
        assert sorted(o.client_order_id for o in after_restart) == want


@pytest.mark.parametrize("mtype", [MarketType.SPOT, MarketType.SWAP])
async def test_open_stops_beyond_one_page_are_all_listed_and_found(mtype):
    """More open plan orders than one page holds (spot's open list answers 20 unless asked for more, at most 100):
    the oldest is still listed and found by client id."""
    sym = SWAP if mtype == MarketType.SWAP else SPOT
    async with venue("bitget") as fake:
        g = gateway(fake, mtype)
        reqs = [stop(f"tbBgOpen{i}", trigger=str(50000 + i), symbol=sym) for i in range(PLAN_PAGE + 1)]
        try:
            for r in reqs:
                await g.create_order(r)
            listed = await g.fetch_open_orders(sym)
            oldest = await g.fetch_order(sym, client_order_id=reqs[0].client_order_id)
        finally:
            await g.close()
        assert sorted(o.client_order_id for o in listed) == sorted(r.client_order_id for r in reqs)
        assert oldest.status == OrderStatus.OPEN and oldest.trigger_price == D(50000)


@pytest.mark.parametrize("mtype", [MarketType.SPOT, MarketType.SWAP])
async def test_a_past_stop_older_than_one_page_is_found_and_its_fill_attributed(mtype):
    """A stop that fired, then more plan orders placed and cancelled than one history page holds: the fired stop is
    still found by client id (with what it filled), and its fill is still told by its client id."""
    sym = SWAP if mtype == MarketType.SWAP else SPOT
    async with venue("bitget") as fake:
        g, again = gateway(fake, mtype), gateway(fake, mtype)  # `again` knows of no plan yet (a restart)
        fired = stop("tbBgFired", symbol=sym)
        try:
            await g.create_order(fired)
            fake.set_price(sym, "57990")
            fake.set_price(sym, "60000")
            for i in range(PLAN_PAGE):
                r = stop(f"tbBgGone{i}", trigger="50000", symbol=sym)
                await g.create_order(r)
                await g.cancel_order(sym, client_order_id=r.client_order_id)
            trades = (await again.fetch_my_trades(sym)).trades
            found = await again.fetch_order(sym, client_order_id=fired.client_order_id)
        finally:
            await g.close()
            await again.close()
        assert found.status == OrderStatus.CLOSED and found.filled == D("0.002") and found.average == D(57990)
        assert [(t.client_order_id, t.amount) for t in trades] == [(fired.client_order_id, D("0.002"))]
