"""The paper exchange: an independent ledger agrees with its equity after every fill, on real candles."""

from __future__ import annotations

import contextlib
import random
from decimal import Decimal as D

import pytest

from engine.candles import load_csv
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import (
    BelowMinimum,
    Exchange,
    InsufficientFunds,
    InvalidOrder,
    MarginMode,
    MarketType,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)


@pytest.fixture(scope="module")
def candles(shared_data):
    return load_csv(shared_data / "BTC_USDT-1m.csv")[:3000].rows()


async def _random_run(kind: MarketType, candles, seed: int):
    sym = "BTC/USDT" if kind == MarketType.SPOT else "BTC/USDT:USDT"
    bal = {"USDT": D(100_000), "BTC": D(1)} if kind == MarketType.SPOT else {"USDT": D(100_000)}
    ex = PaperExchange(kind, dict(bal))
    if kind == MarketType.SWAP:
        await ex.set_leverage(sym, 5)
    rng = random.Random(seed)
    ledger = {"USDT": D(100_000), "BTC": bal.get("BTC", D(0))}
    pos, entry, checks, n = D(0), D(0), 0, 0
    await ex.feed(sym, candles[0])
    for row in candles[1:]:
        last = D(str(row[4]))
        for _ in range(rng.randint(0, 2)):
            n += 1
            side = rng.choice([Side.BUY, Side.SELL])
            kind_ = rng.choice([OrderType.MARKET, OrderType.LIMIT, OrderType.LIMIT, OrderType.STOP_MARKET])
            px = (ex._last[sym] * D(str(1 + rng.uniform(-0.003, 0.003)))).quantize(D("0.1"))
            amt = D("0.01") if kind == MarketType.SWAP else D("0.001")
            with contextlib.suppress(InsufficientFunds, InvalidOrder):
                await ex.create_order(OrderRequest(sym, side, kind_, amt * rng.randint(1, 5), f"c{n}",
                                                   price=px if kind_ == OrderType.LIMIT else None,
                                                   trigger_price=px if kind_ == OrderType.STOP_MARKET else None,
                                                   reduce_only=kind == MarketType.SWAP and rng.random() < 0.2))
        trades = await ex.feed(sym, row)
        for t in trades:
            assert row[3] - 1e-9 <= float(t.price) <= row[2] + 1e-9  # inside the candle
            if kind == MarketType.SPOT:
                sign = 1 if t.side == Side.BUY else -1
                ledger["BTC"] += sign * t.amount
                ledger["USDT"] -= sign * t.price * t.amount + t.fee
            else:  # an independent one-way position ledger
                cs = D("0.01")
                delta = t.amount if t.side == Side.BUY else -t.amount
                ledger["USDT"] -= t.fee
                if pos and (pos > 0) != (delta > 0):
                    closed = min(abs(delta), abs(pos))
                    ledger["USDT"] += (t.price - entry) * closed * cs * (1 if pos > 0 else -1)
                    newpos = pos + (closed if delta > 0 else -closed)
                    rest = abs(delta) - closed
                    pos, entry = (delta / abs(delta) * rest, t.price) if rest else (newpos, entry if newpos else D(0))
                else:
                    entry = (entry * abs(pos) + t.price * t.amount) / (abs(pos) + t.amount)
                    pos += delta
        if trades:  # a candle's fills are applied together; check after each candle that had any
            if kind == MarketType.SPOT:
                want = ledger["USDT"] + ledger["BTC"] * last
            else:
                want = ledger["USDT"] + (last - entry) * pos * D("0.01")
            assert ex.equity({sym: last}) == pytest.approx(want, abs=D("1e-9"))
            checks += 1
    return ex, checks


@pytest.mark.parametrize("kind", [MarketType.SPOT, MarketType.SWAP])
async def test_equity_is_cash_plus_positions_at_mark_after_every_fill(kind, candles):
    ex, checks = await _random_run(kind, candles, 5)
    assert checks > 300
    assert ex.fees_paid > 0
    assert isinstance(ex, Exchange)  # satisfies the protocol the engine talks to


async def test_deterministic(candles):
    a, _ = await _random_run(MarketType.SWAP, candles[:800], 9)
    b, _ = await _random_run(MarketType.SWAP, candles[:800], 9)
    assert a._trades == b._trades and a.equity() == b.equity()


async def test_limit_at_its_price_by_client_id_and_trade_cursor():
    ex = PaperExchange(MarketType.SPOT, {"USDT": D(10_000)})
    await ex.feed("BTC/USDT", [0, 100, 100, 100, 100, 1])
    o = await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.5"), "tb-1", price=D(95)))
    assert (await ex.fetch_balance())["USDT"].used > D("47.5")  # reserved
    assert await ex.feed("BTC/USDT", [60_000, 100, 101, 96, 99, 1]) == []
    trades = await ex.feed("BTC/USDT", [120_000, 99, 99.5, 94, 98, 1])
    assert [(t.price, t.amount, t.client_order_id) for t in trades] == [(D(95), D("0.5"), "tb-1")]
    assert trades[0].fee == D(95) * D("0.5") * D("0.0002")  # maker
    got = await ex.fetch_order("BTC/USDT", client_order_id="tb-1")
    assert got.id == o.id and got.status == OrderStatus.CLOSED and got.average == D(95)
    page = await ex.fetch_my_trades("BTC/USDT")
    assert len(page.trades) == 1 and (await ex.fetch_my_trades("BTC/USDT", since=page.cursor)).trades == []


async def test_refusals():
    ex = PaperExchange(MarketType.SPOT, {"USDT": D(100)})
    await ex.feed("BTC/USDT", [0, 100, 100, 100, 100, 1])
    with pytest.raises(BelowMinimum):
        await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("0.01"), "a"))
    with pytest.raises(InsufficientFunds):
        await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("2"), "b"))
    await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), "c", price=D(90)))
    with pytest.raises(InvalidOrder, match="duplicate"):
        await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), "c", price=D(90)))
    with pytest.raises(OrderNotFound):
        await ex.fetch_order("BTC/USDT", client_order_id="nope")
    await ex.cancel_order("BTC/USDT", client_order_id="c")
    with pytest.raises(OrderNotFound):
        await ex.cancel_order("BTC/USDT", client_order_id="c")


async def test_reduce_only_never_flips_and_liquidation():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(1000)})
    sym = "BTC/USDT:USDT"  # contract size 0.01 BTC
    await ex.set_leverage(sym, 20)
    await ex.feed(sym, [0, 60000, 60000, 60000, 60000, 1])
    with pytest.raises(InvalidOrder, match="reduce-only"):
        await ex.create_order(OrderRequest(sym, Side.SELL, OrderType.MARKET, D(1), "r0", reduce_only=True))
    await ex.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, D(1), "o1"))
    await ex.feed(sym, [60_000, 60000, 60000, 60000, 60000, 1])
    await ex.create_order(OrderRequest(sym, Side.SELL, OrderType.LIMIT, D(3), "r1", price=D(60600), reduce_only=True))
    t = await ex.feed(sym, [120_000, 60000, 61200, 59700, 60600, 1])
    assert t[0].amount == D(1)  # capped at the position: no flip into a short
    assert (await ex.fetch_positions()) == []
    await ex.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, D(2), "o2"))
    await ex.feed(sym, [180_000, 60000, 60000, 60000, 60000, 1])
    pos = (await ex.fetch_positions())[0]
    assert pos.amount == 2 and pos.leverage == 20
    liq = ex.liquidation_price(sym)
    wallet, q = ex.balances["USDT"], D(2) * D("0.01")  # cross margin: the whole account backs the position
    assert wallet + q * (liq - pos.entry_price) == pytest.approx(q * liq * D("0.005"), abs=D("1e-18"))
    assert liq < pos.entry_price * (1 - D(1) / 20)  # far below the isolated level: the account's equity backs it
    assert await ex.feed(sym, [240_000, 60000, 60000, liq + 1, 57000, 1]) == []
    trades = await ex.feed(sym, [300_000, 57000, 57000, liq - 1, liq, 1])
    assert trades[-1].order_id == "liquidation" and trades[-1].price == liq
    assert (await ex.fetch_positions()) == []
    assert ex.balances["USDT"] == pytest.approx(q * liq * D("0.005"), abs=D("1e-18"))  # the maintenance margin left


async def test_market_reports_the_fees_this_account_charges():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(1000)}, maker_fee=D("0.0001"), taker_fee=D("0.0004"))
    m = await ex.market("BTC/USDT:USDT")
    assert (m.maker_fee, m.taker_fee) == (D("0.0001"), D("0.0004"))
    assert all((x.maker_fee, x.taker_fee) == (D("0.0001"), D("0.0004")) for x in (await ex.load_markets()).values())
    plain = await PaperExchange(MarketType.SPOT, {"USDT": D(1000)}).market("BTC/USDT")
    assert (plain.maker_fee, plain.taker_fee) == (D("0.0002"), D("0.0005"))


async def test_a_position_reports_cross_margin_unless_told_otherwise():
    ex = PaperExchange(MarketType.SWAP, {"USDT": D(1000)})
    await ex.feed("BTC/USDT:USDT", [0, 60000, 60000, 60000, 60000, 1])
    await ex.create_order(OrderRequest("BTC/USDT:USDT", Side.BUY, OrderType.MARKET, D(1), "a"))
    await ex.feed("BTC/USDT:USDT", [60_000, 60000, 60000, 60000, 60000, 1])
    assert (await ex.fetch_positions())[0].margin_mode == MarginMode.CROSS  # what its funds follow
