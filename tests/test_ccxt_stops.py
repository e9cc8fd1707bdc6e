"""Stop (trigger) orders through the ccxt gateway: OKX algo orders named by `algoClOrdId`, Binance, Bybit and Bitget
stops, each placed, found, listed, cancelled and attributed by our client id and never duplicated; Upbit, which has
none, refuses them."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.exchange.client_ids import make_client_id
from engine.exchange.protocol import InvalidOrder, MarketType, OrderRequest, OrderStatus, OrderType, Side
from tests.fakes.gateways import gateway, venue


def stop(seq: int, symbol: str = "BTC/USDT", amount: str = "0.01", trigger: str = "58000.04",
         side: Side = Side.SELL, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.STOP_MARKET, D(amount), make_client_id("okx", 3, 4, "sl", None, seq),
                        trigger_price=D(trigger), reduce_only=reduce_only)


async def test_stop_is_placed_found_listed_triggered_and_its_fill_attributed_by_client_id():
    async with venue("okx") as fake:
        g = gateway(fake)
        req = stop(1)
        try:
            placed = await g.create_order(req)
            found = await g.fetch_order("BTC/USDT", client_order_id=req.client_order_id)
            listed = await g.fetch_open_orders("BTC/USDT")
            fake.set_price("BTC/USDT", "57990")
            done = await g.fetch_order("BTC/USDT", client_order_id=req.client_order_id)
            trades = (await g.fetch_my_trades("BTC/USDT")).trades
        finally:
            await g.close()
        (algo,) = fake.algos.values()
        assert algo.client_id == req.client_order_id and algo.trigger == D("58000")  # on the 0.1 tick
        assert placed.type == OrderType.STOP_MARKET and placed.status == OrderStatus.OPEN
        assert placed.client_order_id == found.client_order_id == req.client_order_id and found.id == algo.id
        assert [o.client_order_id for o in listed] == [req.client_order_id]
        assert done.status == OrderStatus.CLOSED and done.filled == D("0.01") and done.average == D("57990")
        assert [(t.client_order_id, t.amount) for t in trades] == [(req.client_order_id, D("0.01"))]


async def test_stop_cancel_by_client_id():
    async with venue("okx") as fake:
        g = gateway(fake)
        req = stop(2)
        try:
            await g.create_order(req)
            canceled = await g.cancel_order("BTC/USDT", client_order_id=req.client_order_id)
            left = await g.fetch_open_orders("BTC/USDT")
        finally:
            await g.close()
        assert canceled.status == OrderStatus.CANCELED and left == []
        assert [a.status for a in fake.algos.values()] == ["canceled"]


@pytest.mark.parametrize("kind", ["lost", "reset", "timeout"])
async def test_a_lost_stop_create_is_looked_up_among_stop_orders_never_resent_twice(kind):
    async with venue("okx") as fake:
        g = gateway(fake, MarketType.SWAP)
        sym = "BTC/USDT:USDT"
        try:
            await g.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, D(2), "tb3U4BEL1"))
            fake.fail_next(kind, op="create")
            info = await g.create_order(stop(3, sym, "2", "59000", reduce_only=True))
        finally:
            await g.close()
        assert info.client_order_id == stop(3).client_order_id and info.type == OrderType.STOP_MARKET
        assert len(fake.algos) == 1 and fake.duplicates() == {}
        (algo,) = fake.algos.values()
        assert algo.reduce_only and algo.margin_mode == "cross" and algo.amount == D(2)


@pytest.mark.parametrize("kind", [None, "lost", "timeout"])
async def test_binance_futures_stop_is_an_algo_order_named_by_client_algo_id(kind):
    async with venue("binance") as fake:
        g = gateway(fake, MarketType.SWAP)
        sym = "BTC/USDT:USDT"
        req = OrderRequest(sym, Side.SELL, OrderType.STOP_MARKET, D("0.002"), "tb5U6BSL1", trigger_price=D("58000.04"),
                           reduce_only=True)
        try:
            await g.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, D("0.002"), "tb5U6BEL1"))
            if kind:
                fake.fail_next(kind, op="create")
            placed = await g.create_order(req)
            found = await g.fetch_order(sym, client_order_id=req.client_order_id)
            listed = await g.fetch_open_orders(sym)
            canceled = await g.cancel_order(sym, client_order_id=req.client_order_id)
        finally:
            await g.close()
        (algo,) = fake.algos.values()
        assert algo.client_id == req.client_order_id and algo.trigger == D("58000.0") and algo.reduce_only
        assert placed.client_order_id == found.client_order_id == req.client_order_id and found.id == algo.id
        assert placed.type == found.type == OrderType.STOP_MARKET and found.trigger_price == D(58000)
        assert [o.client_order_id for o in listed] == [req.client_order_id]
        assert canceled.status == OrderStatus.CANCELED and fake.duplicates() == {}


async def test_binance_spot_stop_is_a_plain_stop_loss_order_named_by_new_client_order_id():
    async with venue("binance") as fake:
        g = gateway(fake)
        req = OrderRequest("BTC/USDT", Side.SELL, OrderType.STOP_MARKET, D("0.01"), "tb5U6BSL2",
                           trigger_price=D("58000.004"))
        try:
            placed = await g.create_order(req)
            listed = await g.fetch_open_orders("BTC/USDT")
            fake.set_price("BTC/USDT", "57990")
            done = await g.fetch_order("BTC/USDT", client_order_id=req.client_order_id)
        finally:
            await g.close()
        (o,) = fake.created
        assert o.type == "stop" and o.trigger == D("58000") and o.client_id == req.client_order_id and not fake.algos
        assert placed.type == OrderType.STOP_MARKET and placed.status == OrderStatus.OPEN
        assert [x.client_order_id for x in listed] == [req.client_order_id]
        assert done.status == OrderStatus.CLOSED and done.filled == D("0.01")


@pytest.mark.parametrize("mtype", [MarketType.SPOT, MarketType.SWAP])
@pytest.mark.parametrize("kind", [None, "lost", "timeout"])
async def test_bybit_stop_keeps_its_order_id_and_order_link_id_through_the_fill(mtype, kind):
    """Bybit conditional orders: placed with the trigger direction, found by orderLinkId, listed, triggered
    under the same ids, their fill attributed by client id; a lost create is adopted, never sent twice."""
    async with venue("bybit") as fake:
        g = gateway(fake, mtype)
        sym = "BTC/USDT:USDT" if mtype == MarketType.SWAP else "BTC/USDT"
        swap = mtype == MarketType.SWAP
        req = OrderRequest(sym, Side.SELL, OrderType.STOP_MARKET, D("0.002"), "tb7U8BSL1", trigger_price=D("58000.004"),
                           reduce_only=swap)
        try:
            await g.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, D("0.002"), "tb7U8BEL1"))
            if kind:
                fake.fail_next(kind, op="create")
            placed = await g.create_order(req)
            found = await g.fetch_order(sym, client_order_id=req.client_order_id)
            listed = await g.fetch_open_orders(sym)
            fake.set_price(sym, "57990")
            done = await g.fetch_order(sym, client_order_id=req.client_order_id)
            trades = (await g.fetch_my_trades(sym)).trades
        finally:
            await g.close()
        stop_order = fake.created[-1]
        assert stop_order.client_id == req.client_order_id and stop_order.trigger == D("58000")
        assert stop_order.reduce_only == swap and len(fake.created) == 2 and fake.duplicates() == {}
        assert placed.type == found.type == OrderType.STOP_MARKET and placed.status == OrderStatus.OPEN
        assert placed.id == found.id == done.id == stop_order.id
        assert [o.client_order_id for o in listed] == [req.client_order_id]
        assert done.status == OrderStatus.CLOSED and done.filled == D("0.002") and done.average == D("57990")
        assert [(t.client_order_id, t.order_id, t.amount) for t in trades][-1] == (req.client_order_id, done.id,
                                                                                  D("0.002"))


@pytest.mark.parametrize("mtype", [MarketType.SPOT, MarketType.SWAP])
async def test_bybit_stop_cancel_by_client_id(mtype):
    async with venue("bybit") as fake:
        g = gateway(fake, mtype)
        sym = "BTC/USDT:USDT" if mtype == MarketType.SWAP else "BTC/USDT"
        req = OrderRequest(sym, Side.BUY, OrderType.STOP_MARKET, D("0.002"), "tb7U8BSL2", trigger_price=D("61000"))
        try:
            await g.create_order(req)
            canceled = await g.cancel_order(sym, client_order_id=req.client_order_id)
            left = await g.fetch_open_orders(sym)
        finally:
            await g.close()
        assert canceled.status == OrderStatus.CANCELED and canceled.type == OrderType.STOP_MARKET and left == []
        assert [o.status for o in fake.orders.values()] == ["canceled"]


@pytest.mark.parametrize("mtype", [MarketType.SPOT, MarketType.SWAP])
@pytest.mark.parametrize("kind", [None, "lost", "timeout"])
async def test_bitget_plan_order_fill_is_told_by_its_client_id_through_the_order_it_became(mtype, kind):
    """Bitget plan orders: placed under our clientOid, found, listed; when one fires Bitget places a new market
    order under a new id and no client id of ours, and the fill of that order is attributed to the plan's client
    id; the plan, looked up again, tells what it filled. A lost create is adopted, never sent twice."""
    async with venue("bitget") as fake:
        g = gateway(fake, mtype)
        swap = mtype == MarketType.SWAP
        sym = "BTC/USDT:USDT" if swap else "BTC/USDT"
        req = OrderRequest(sym, Side.SELL, OrderType.STOP_MARKET, D("0.002"), "tb9U8BSL1", trigger_price=D("58000.004"),
                           reduce_only=swap)
        try:
            entry = await g.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, D("0.002"), "tb9U8BEL1"))
            if kind:
                fake.fail_next(kind, op="create")
            placed = await g.create_order(req)
            found = await g.fetch_order(sym, client_order_id=req.client_order_id)
            listed = await g.fetch_open_orders(sym)
            fake.set_price(sym, "57990")
            done = await g.fetch_order(sym, client_order_id=req.client_order_id)
            trades = (await g.fetch_my_trades(sym)).trades
        finally:
            await g.close()
        (plan,) = fake.algos.values()
        assert plan.client_id == req.client_order_id and plan.trigger == D(58000) and plan.reduce_only == swap
        assert fake.duplicates() == {} and plan.child and plan.child != plan.id
        assert placed.id == found.id == done.id == plan.id
        assert placed.type == found.type == done.type == OrderType.STOP_MARKET and placed.status == OrderStatus.OPEN
        assert [o.client_order_id for o in listed] == [req.client_order_id]
        assert done.status == OrderStatus.CLOSED and done.filled == D("0.002") and done.average == D(57990)
        # fills name orders only: the entry by its own id, the stop's by the order it became, told by client id
        assert [(t.client_order_id, t.order_id, t.amount) for t in trades] == [
            (None, entry.id, D("0.002")), (req.client_order_id, plan.child, D("0.002"))]


@pytest.mark.parametrize("mtype", [MarketType.SPOT, MarketType.SWAP])
async def test_bitget_plan_order_cancel_by_client_id(mtype):
    """A buy stop (on spot sized in USDT at its trigger price) cancelled by our client id."""
    async with venue("bitget") as fake:
        g = gateway(fake, mtype)
        sym = "BTC/USDT:USDT" if mtype == MarketType.SWAP else "BTC/USDT"
        req = OrderRequest(sym, Side.BUY, OrderType.STOP_MARKET, D("0.002"), "tb9U8BSL2", trigger_price=D("61000"))
        try:
            await g.create_order(req)
            canceled = await g.cancel_order(sym, client_order_id=req.client_order_id)
            left = await g.fetch_open_orders(sym)
        finally:
            await g.close()
        assert canceled.status == OrderStatus.CANCELED and canceled.type == OrderType.STOP_MARKET and left == []
        (plan,) = fake.algos.values()
        assert plan.status == "canceled" and not fake.orders
        if mtype == MarketType.SPOT:
            assert fake.plan_quote[plan.id] == D(122)  # 0.002 BTC at the 61000 trigger, in USDT
        else:
            assert plan.amount == D("0.002")


@pytest.mark.parametrize("side", [Side.SELL, Side.BUY])
async def test_upbit_has_no_stop_orders_and_refuses_them_before_sending_anything(side):
    """Upbit takes no trigger orders: a stop is refused with a domain error saying so, never sent as something else
    and never reported in a guessed state; the account is untouched."""
    async with venue("upbit", balances={"KRW": "100000000", "BTC": "1"}) as fake:
        g = gateway(fake)
        req = OrderRequest("BTC/KRW", side, OrderType.STOP_MARKET, D("0.001"), "tb7U8BSL9",
                           trigger_price=D("85000000"))
        try:
            with pytest.raises(InvalidOrder, match="upbit has no stop orders") as err:
                await g.create_order(req)
            listed = await g.fetch_open_orders("BTC/KRW")
        finally:
            await g.close()
        assert err.value.reason == "invalid_order" and listed == []
        assert fake.count("create") == 0 and fake.count("order_test") == 0 and not fake.created
