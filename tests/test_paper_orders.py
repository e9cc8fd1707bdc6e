"""Paper exchange: stop orders, swap margin at leverage, short liquidation, and trading on replayed CSV candles."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import (
    InsufficientFunds,
    InvalidOrder,
    MarginMode,
    MarketType,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from engine.market.clock import ManualClock
from engine.market.replay import ReplaySource

SWAP = "BTC/USDT:USDT"  # contract size 0.01 BTC


async def test_stop_market_triggers_only_when_the_candle_reaches_it_and_fills_at_the_trigger():
    ex = PaperExchange(MarketType.SPOT, {"USDT": D(0), "BTC": D(1)})
    await ex.feed("BTC/USDT", [0, 100, 100, 100, 100, 1])
    stop = await ex.create_order(OrderRequest("BTC/USDT", Side.SELL, OrderType.STOP_MARKET, D("0.5"), "s1",
                                              trigger_price=D(95)))
    assert await ex.feed("BTC/USDT", [60_000, 100, 101, 95.5, 99, 1]) == []  # low stays above the trigger
    assert (await ex.fetch_order("BTC/USDT", stop.id)).status == OrderStatus.OPEN
    trades = await ex.feed("BTC/USDT", [120_000, 99, 99.5, 90, 92, 1])
    want = D(95) * (1 - ex.slippage)  # the trigger, slipped against us, inside the candle
    assert [(t.price, t.amount) for t in trades] == [(want, D("0.5"))]
    assert trades[0].fee == want * D("0.5") * ex.taker_fee
    assert ex.balances == {"BTC": D("0.5"), "USDT": want * D("0.5") - trades[0].fee}


async def test_a_stop_gapped_through_fills_at_the_open_not_at_the_trigger():
    ex = PaperExchange(MarketType.SPOT, {"USDT": D(0), "BTC": D(1)})
    await ex.feed("BTC/USDT", [0, 100, 100, 100, 100, 1])
    await ex.create_order(OrderRequest("BTC/USDT", Side.SELL, OrderType.STOP_MARKET, D(1), "s1", trigger_price=D(95)))
    trades = await ex.feed("BTC/USDT", [60_000, 90, 91, 85, 88, 1])  # opened below the trigger
    assert trades[0].price == D(90) * (1 - ex.slippage)


async def test_a_short_stop_buys_when_the_price_rises_to_it():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(10_000)})
    await ex.set_leverage(SWAP, 5)
    await ex.feed(SWAP, [0, 60000, 60000, 60000, 60000, 1])
    await ex.create_order(OrderRequest(SWAP, Side.SELL, OrderType.MARKET, D(2), "e"))
    await ex.feed(SWAP, [60_000, 60000, 60000, 60000, 60000, 1])
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.STOP_MARKET, D(2), "sl", trigger_price=D(61000),
                                       reduce_only=True))
    trades = await ex.feed(SWAP, [120_000, 60000, 61500, 59900, 61200, 1])
    assert trades[0].price == min(D(61000) * (1 + ex.slippage), D(61500)) and trades[0].reduce_only
    assert await ex.fetch_positions() == []


async def test_margin_at_leverage_and_leverage_locked_while_a_position_is_open():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(1000)})
    await ex.feed(SWAP, [0, 60000, 60000, 60000, 60000, 1])
    await ex.set_leverage(SWAP, 1, MarginMode.CROSS)
    with pytest.raises(InsufficientFunds):  # 2 contracts = 1200 USDT of margin at 1x
        await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D(2), "a"))
    await ex.set_leverage(SWAP, 10, MarginMode.ISOLATED)
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D(2), "b"))
    await ex.feed(SWAP, [60_000, 60000, 60000, 60000, 60000, 1])
    bal = (await ex.fetch_balance())["USDT"]
    pos = (await ex.fetch_positions())[0]
    assert bal.used == pos.amount * D("0.01") * pos.entry_price / 10  # margin of the position at 10x
    assert pos.leverage == 10 and pos.margin_mode == MarginMode.ISOLATED
    with pytest.raises(InvalidOrder, match="open position"):
        await ex.set_leverage(SWAP, 3)
    with pytest.raises(InvalidOrder, match="out of range"):
        await ex.set_leverage("ETH/USDT:USDT", 500)


async def test_short_liquidation_on_cross_margin_leaves_the_maintenance_margin():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(1000)})
    await ex.set_leverage(SWAP, 10)
    await ex.feed(SWAP, [0, 60000, 60000, 60000, 60000, 1])
    await ex.create_order(OrderRequest(SWAP, Side.SELL, OrderType.MARKET, D(16), "e"))  # 0.16 BTC, 9,600 USDT
    await ex.feed(SWAP, [60_000, 60000, 60000, 60000, 60000, 1])
    entry, wallet, q = (await ex.fetch_positions())[0].entry_price, ex.balances["USDT"], D("0.16")
    liq = ex.liquidation_price(SWAP)
    # equity = wallet − q·(p − entry) meets the maintenance margin q·p·0.005 (cross: the whole wallet backs it)
    assert liq == pytest.approx((wallet + q * entry) / (q * (1 + ex.maintenance)), abs=D("1e-18"))
    assert 65_000 < liq < entry * (1 + D(1) / 10)
    assert await ex.feed(SWAP, [120_000, 60000, liq - 1, 59000, 60500, 1]) == []  # just below: still alive
    trades = await ex.feed(SWAP, [180_000, 60500, 67000, 60400, 66000, 1])
    assert trades[-1].order_id == "liquidation" and trades[-1].price == liq and trades[-1].side == Side.BUY
    assert ex.balances["USDT"] == pytest.approx(q * liq * ex.maintenance, abs=D("1e-18"))
    assert await ex.fetch_positions() == []


async def test_liquidation_gapped_through_fills_at_the_open_and_cancels_every_order_and_floors_at_zero():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(1000)})
    await ex.set_leverage(SWAP, 10)
    await ex.set_leverage("ETH/USDT:USDT", 10)
    await ex.feed(SWAP, [0, 60000, 60000, 60000, 60000, 1])
    await ex.feed("ETH/USDT:USDT", [0, 3000, 3000, 3000, 3000, 1])
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D(16), "e"))
    await ex.feed(SWAP, [60_000, 60000, 60000, 60000, 60000, 1])
    eth = await ex.create_order(OrderRequest("ETH/USDT:USDT", Side.BUY, OrderType.LIMIT, D(1), "x", price=D(2000)))
    liq = ex.liquidation_price(SWAP)
    trades = await ex.feed(SWAP, [120_000, 50000, 50100, 49000, 49500, 1])  # opened far below the level
    assert liq > 50000 and trades[-1].order_id == "liquidation" and trades[-1].price == D(50000)
    assert ex.balances["USDT"] == 0  # the loss beyond the wallet is the venue's
    assert (await ex.fetch_order("ETH/USDT:USDT", eth.id)).status == OrderStatus.CANCELED  # cross: all orders


async def test_paper_trading_on_replayed_csv_candles(shared_data):
    clock = ManualClock(0)
    replay = ReplaySource(shared_data, clock)
    start = int(replay.candles("BTC/USDT", "1m").ts[0])
    ex = PaperExchange(MarketType.SPOT, {"USDT": D(100_000)}, source=replay)
    clock.set(start + 5 * 60_000)
    first = await ex.fetch_ohlcv("BTC/USDT", "1m")
    assert [r[0] for r in first] == [start + i * 60_000 for i in range(5)]  # only closed candles
    for row in first:
        await ex.feed("BTC/USDT", row)
    last = D(str(first[-1][4]))
    buy = await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), "b",
                                             price=(last * D("0.999")).quantize(D("0.01"))))
    fills = []
    for minute in range(6, 400):
        clock.set(start + minute * 60_000)
        row = (await ex.fetch_ohlcv("BTC/USDT", "1m", limit=1))[0]
        for t in await ex.feed("BTC/USDT", row):
            assert row[3] <= float(t.price) <= row[2]
            fills.append(t)
        if fills:
            break
    assert fills and fills[0].order_id == buy.id and fills[0].price == buy.price
    assert ex.balances["BTC"] == D("0.1")


async def test_cross_margin_a_losing_position_on_another_market_brings_the_liquidation_closer():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(3000)})
    eth = "ETH/USDT:USDT"  # contract size 0.1 ETH
    for sym, px in ((SWAP, 60000), (eth, 3000)):
        await ex.set_leverage(sym, 10)
        await ex.feed(sym, [0, px, px, px, px, 1])
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.MARKET, D(20), "b"))  # 0.2 BTC
    await ex.create_order(OrderRequest(eth, Side.BUY, OrderType.MARKET, D(30), "e"))  # 3 ETH
    await ex.feed(SWAP, [60_000, 60000, 60000, 60000, 60000, 1])
    await ex.feed(eth, [60_000, 3000, 3000, 3000, 3000, 1])
    before = ex.liquidation_price(SWAP)
    free_before = (await ex.fetch_balance())["USDT"].free
    await ex.feed(eth, [120_000, 3000, 3000, 2700, 2700, 1])  # ETH loses 900 USDT
    after = ex.liquidation_price(SWAP)
    wallet, m = ex.balances["USDT"], ex.maintenance
    btc_entry, eth_entry = ex._positions[SWAP].entry, ex._positions[eth].entry
    # at `after`, the account's equity equals the maintenance margin of both positions, ETH held at its mark
    equity = wallet + D("0.2") * (after - btc_entry) + D(3) * (D(2700) - eth_entry)
    assert equity == pytest.approx(D("0.2") * after * m + D(3) * D(2700) * m, abs=D("1e-12"))
    assert after > before
    free = (await ex.fetch_balance())["USDT"].free
    assert free < free_before - 800  # the loss, less the margin the smaller ETH notional releases
    n = int(free / D("59.3")) + 1  # contracts of 0.01 BTC at 59,000 that need more than is free at 10x
    with pytest.raises(InsufficientFunds):
        await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D(n), "x", price=D(59000)))
    await ex.create_order(OrderRequest(SWAP, Side.BUY, OrderType.LIMIT, D(n - 1), "y", price=D(59000)))
