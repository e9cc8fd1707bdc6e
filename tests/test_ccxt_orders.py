"""The ccxt gateway placing orders through real ccxt over HTTP against the fake venues: precision, minimums,
client ids, and every injected failure resolved without a duplicate order. Upbit trades BTC/KRW, its prices the
others' × KRW_PER_USDT."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.exchange.client_ids import fits, make_client_id
from engine.exchange.protocol import (
    BelowMinimum,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    MarginMode,
    MarketType,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    UnknownOutcome,
)
from tests.fakes.fake_upbit import KRW_PER_USDT
from tests.fakes.gateways import gateway, venue

VENUES = ["okx", "binance", "bybit", "bitget", "upbit"]
SPOT_ONLY = pytest.mark.skip(reason="Upbit is spot only: no swap markets, leverage or positions")
WITH_SWAPS = [pytest.param(v, marks=SPOT_ONLY) if v == "upbit" else v for v in VENUES]
SPOT = "BTC/USDT"
# each fake's spot lot and tick, and minimum amount (Upbit: a minimum order total, 5,000 KRW)
LOT_TICK = {"okx": (D("0.00000001"), D("0.1")), "binance": (D("0.00001"), D("0.01")),
            "bybit": (D("0.000001"), D("0.01")), "bitget": (D("0.000001"), D("0.01")),
            "upbit": (D("0.00000001"), D("1E+3"))}
MIN_AMOUNT = {"okx": "0.00001", "binance": "0.00001", "bybit": "0.000048", "bitget": "0.00001", "upbit": "5000 KRW"}
KRW_BALANCES = {"KRW": "150000000", "BTC": "2", "ETH": "10"}
# BTC/USDT:USDT: an order size in the venue's unit, its instrument id and contract size
SWAP = {"okx": (D(3), "BTC-USDT-SWAP", D("0.01")), "binance": (D("0.002"), "BTCUSDT", D(1)),
        "bybit": (D("0.002"), "BTCUSDT", D(1)), "bitget": (D("0.002"), "BTCUSDT", D(1))}
CHAOS_SEED = {"okx": 11, "binance": 5, "bybit": 5, "bitget": 5, "upbit": 5}


def cid(venue_id: str, seq: int, role: str = "entry") -> str:
    return make_client_id(venue_id, 12345, 678, role, None, seq)


def spot(v: str) -> str:
    return "BTC/KRW" if v == "upbit" else SPOT


def px(v: str, usdt: str) -> D:
    """A BTC price on `v`'s spot market: in KRW on Upbit."""
    return D(usdt) * KRW_PER_USDT if v == "upbit" else D(usdt)


def spot_venue(v: str, *args):
    return venue(v, *args, balances=KRW_BALANCES if v == "upbit" else None)


def market(venue_id: str, seq: int, amount: str = "0.001", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(spot(venue_id), side, OrderType.MARKET, D(amount), cid(venue_id, seq))


@pytest.mark.parametrize("v", VENUES)
async def test_precision_and_client_id_reach_the_exchange(v):
    async with spot_venue(v) as fake:
        g = gateway(fake)
        try:
            placed = await g.create_order(OrderRequest(spot(v), Side.BUY, OrderType.LIMIT, D("0.0012345678"),
                                                       cid(v, 1), price=px(v, "50000.1234")))
            filled = await g.create_order(market(v, 2, "0.0020000009"))
        finally:
            await g.close()
        step, tick = LOT_TICK[v]
        sent = fake.orders[placed.id]
        # amounts truncate to the lot (never buy more than asked), prices round to the tick
        assert sent.amount == D("0.0012345678").quantize(step, rounding="ROUND_DOWN")
        assert sent.price == px(v, "50000.1234").quantize(tick)
        assert placed.status == OrderStatus.OPEN and placed.amount == sent.amount
        # the fake reads only the venue's own parameter (clOrdId / newClientOrderId): the id was sent in that form
        assert sent.client_id == cid(v, 1) and fits(v, sent.client_id) and placed.client_order_id == cid(v, 1)
        assert filled.status == OrderStatus.CLOSED and filled.filled == D("0.002")
        assert fake.orders[filled.id].client_id == cid(v, 2)


@pytest.mark.parametrize("v", VENUES)
async def test_below_minimum_is_refused_before_sending_with_the_numbers(v):
    async with spot_venue(v) as fake:
        g = gateway(fake)
        try:
            with pytest.raises(BelowMinimum) as small:
                await g.create_order(market(v, 1, "0.000005"))
            if v == "binance":  # minimum order value 5 USDT: 0.00008 BTC × 60000 = 4.8
                with pytest.raises(BelowMinimum) as cheap:
                    await g.create_order(OrderRequest(SPOT, Side.BUY, OrderType.LIMIT, D("0.00008"), cid(v, 2),
                                                      price=D("60000")))
                assert "4.8" in str(cheap.value) and "minimum 5 USDT" in str(cheap.value)
        finally:
            await g.close()
        assert MIN_AMOUNT[v] in str(small.value) and "below" in str(small.value)
        assert fake.count("create") == 0 and not fake.created


FAILURES = [
    # kind, what the gateway must end with, how many orders exist afterwards
    ("timeout", "placed", 1),  # nothing was made; looked up, not found, resent once
    ("server_error", "placed", 1),
    ("rate_limit", "placed", 1),
    ("lost", "placed", 1),  # made, answer never came: found by client id, not resent
    ("reset", "placed", 1),
    ("lost_5xx", "placed", 1),
    ("duplicate", InvalidOrder, 0),
    ("insufficient", InsufficientFunds, 0),
]


@pytest.mark.parametrize("v", VENUES)
@pytest.mark.parametrize(("kind", "outcome", "orders"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_each_injected_failure_on_create_leaves_no_duplicate(v, kind, outcome, orders):
    async with spot_venue(v) as fake:
        g = gateway(fake)
        fake.fail_next(kind, op="create")
        req = market(v, 7)
        try:
            if outcome == "placed":
                info = await g.create_order(req)
                assert info.client_order_id == req.client_order_id and info.status == OrderStatus.CLOSED
                assert fake.orders[info.id].client_id == req.client_order_id
            else:
                with pytest.raises(outcome) as err:
                    await g.create_order(req)
                assert err.value.reason in ("invalid_order", "insufficient_funds")
        finally:
            await g.close()
        assert fake.injected == [("create", kind)]
        assert len(fake.created) == orders and fake.duplicates() == {}
        if kind in ("lost", "reset", "lost_5xx"):
            assert fake.count("create") == 1  # resolved by the lookup, never resent


@pytest.mark.parametrize("v", VENUES)
async def test_a_lost_create_that_cannot_be_looked_up_is_unknown_not_resent(v):
    async with spot_venue(v) as fake:
        g = gateway(fake)
        fake.fail_next("lost", op="create")
        fake.fail_next("server_error", op="fetch_order", times=10)
        try:
            with pytest.raises(UnknownOutcome) as err:
                await g.create_order(market(v, 3))
        finally:
            await g.close()
        assert err.value.reason == "unknown_outcome" and cid(v, 3) in str(err.value)
        assert fake.count("create") == 1 and len(fake.created) == 1


@pytest.mark.parametrize("v", VENUES)
async def test_chaos_thirty_percent_failures_never_duplicate_an_order(v):
    """Every request may fail; afterwards each client id exists at most once, and every order we were told about
    exists, and every order that exists was either reported or left as unknown for reconciliation."""
    async with spot_venue(v) as fake:
        g = gateway(fake)
        await g.load_markets()
        fake.chaos(0.3, seed=CHAOS_SEED[v])
        reported, unknown, refused = {}, set(), set()
        try:
            for seq in range(1, 13):
                req = market(v, seq, side=Side.BUY if seq % 2 else Side.SELL)
                try:
                    reported[req.client_order_id] = await g.create_order(req)
                except UnknownOutcome:
                    unknown.add(req.client_order_id)
                except ExchangeUnavailable:
                    refused.add(req.client_order_id)
            fake.chaos(0)
            made = {o.client_id: o for o in fake.created}
            for c in unknown:  # reconciliation: the lookup now tells
                try:
                    await g.fetch_order(spot(v), client_order_id=c)
                    assert c in made
                except Exception:
                    assert c not in made
        finally:
            await g.close()
        assert len(fake.injected) >= 5, fake.injected  # the chaos really happened
        assert fake.duplicates() == {}
        assert all(fake.orders[i.id].client_id == c for c, i in reported.items())
        assert set(made) <= set(reported) | unknown | refused
        assert set(reported) <= set(made)


@pytest.mark.parametrize("v", WITH_SWAPS)
async def test_swap_leverage_margin_mode_one_way_and_contracts(v):
    async with venue(v) as fake:
        g = gateway(fake, MarketType.SWAP)
        sym = "BTC/USDT:USDT"
        try:
            m = await g.market(sym)
            await g.set_leverage(sym, 5, MarginMode.ISOLATED)
            amount, inst, contract_size = SWAP[v]  # OKX: 3 contracts of 0.01 BTC
            info = await g.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, amount, cid(v, 1)))
            positions = await g.fetch_positions()
            with pytest.raises(InvalidOrder):
                await g.set_leverage(sym, 1000)
        finally:
            await g.close()
        acc = next(iter(fake.accounts.values()))
        assert acc.pos_mode == "net_mode" and acc.leverage[inst] == 5 and acc.margin_mode[inst] == "isolated"
        assert m.contract_size == contract_size
        assert info.filled == amount and fake.orders[info.id].amount == amount
        if v == "okx":
            assert fake.orders[info.id].margin_mode == "isolated"  # tdMode follows the chosen margin mode
        assert [(p.symbol, p.side, p.amount, p.leverage) for p in positions] == [(sym, Side.BUY, amount, 5)]


async def test_binance_futures_minimum_notional_counts_the_contract_value():
    async with venue("binance") as fake:
        g = gateway(fake, MarketType.SWAP)
        try:
            with pytest.raises(BelowMinimum) as err:  # 0.001 BTC × 60000 = 60 < 100 USDT
                await g.create_order(OrderRequest("BTC/USDT:USDT", Side.BUY, OrderType.MARKET, D("0.001"),
                                                  cid("binance", 1)))
        finally:
            await g.close()
        assert "order value 60 USDT is below the minimum 100 USDT" in str(err.value)
        assert fake.count("create") == 0


@pytest.mark.parametrize("v", VENUES)
async def test_limit_fill_open_orders_cancel_and_trades(v):
    async with spot_venue(v) as fake:
        g = gateway(fake)
        sym = spot(v)
        try:
            a = await g.create_order(OrderRequest(sym, Side.BUY, OrderType.LIMIT, D("0.01"), cid(v, 1),
                                                  price=px(v, "59000")))
            b = await g.create_order(OrderRequest(sym, Side.BUY, OrderType.LIMIT, D("0.01"), cid(v, 2),
                                                  price=px(v, "58000")))
            assert {o.client_order_id for o in await g.fetch_open_orders(sym)} == {cid(v, 1), cid(v, 2)}
            fake.set_price(sym, px(v, "58900"))  # reaches a's price only
            assert (await g.fetch_order(sym, client_order_id=cid(v, 1))).status == OrderStatus.CLOSED
            canceled = await g.cancel_order(sym, client_order_id=cid(v, 2))
            page = await g.fetch_my_trades(sym)
        finally:
            await g.close()
        assert canceled.status == OrderStatus.CANCELED and canceled.id == b.id
        assert [(t.order_id, t.price, t.amount) for t in page.trades] == [(a.id, px(v, "59000"), D("0.01"))]
        assert page.cursor == page.trades[-1].ts


@pytest.mark.parametrize("v", VENUES)
async def test_ohlcv_through_the_gateway_equals_the_csv(v, shared_data):
    from engine.candles import load_csv

    rows = load_csv(shared_data / "BTC_USDT-1m.csv").rows()
    if v == "upbit":  # the fake's KRW candles: the USDT ones' prices × KRW_PER_USDT
        rows = [[r[0], *(float(D(str(x)) * KRW_PER_USDT) for x in r[1:5]), r[5]] for r in rows]
    async with venue(v, shared_data) as fake:
        g = gateway(fake, api_key=None)
        try:
            got = await g.fetch_ohlcv(spot(v), "1m", since=int(rows[100][0]), limit=50)
        finally:
            await g.close()
    assert got == [list(r) for r in rows[100:150]]


async def test_okx_trades_since_a_cursor_page_back_so_a_busy_interval_loses_none():
    """OKX hands the newest 100 fills after `begin`; 230 fills since the cursor must all come back once."""
    async with venue("okx") as fake:
        acc = next(iter(fake.accounts.values()))
        for i in range(230):
            fake._place(acc, "BTC-USDT", False, "buy" if i % 2 else "sell", "market", D("0.001"), None, f"x{i}")
        base = 1_700_000_000_000
        for i, f in enumerate(fake.fills):
            f.ts = base + i * 10
        g = gateway(fake)
        try:
            page = await g.fetch_my_trades(SPOT, since=base + 50)
        finally:
            await g.close()
        assert [t.id for t in page.trades] == [f.id for f in fake.fills[5:]]  # oldest first, none twice
        assert page.cursor == base + 229 * 10 and fake.count("trades") == 3
