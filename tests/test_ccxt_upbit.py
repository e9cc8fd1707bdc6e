"""Upbit through the ccxt gateway against the fake Upbit: JWT auth, KRW ticks and the 5,000 KRW minimum, market buys
as KRW totals, lookups and cancels by identifier, fills built from the orders' trades, identifiers never reused,
request weights."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from decimal import Decimal as D

import aiohttp
import pytest

from engine.exchange.budget import Budgets
from engine.exchange.protocol import (
    BelowMinimum,
    InsufficientFunds,
    InvalidKey,
    InvalidOrder,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from tests.fakes.fake_exchange import Order, _now
from tests.fakes.fake_upbit import FakeUpbit
from tests.fakes.gateways import KEY, SECRET, gateway, venue

BTC = "BTC/KRW"
BALANCES = {"KRW": "100000000", "BTC": "2", "ETH": "10", "XRP": "100000", "USDT": "1000"}


def upbit(**kw):
    return venue("upbit", balances=BALANCES, **kw)


def limit(symbol: str, side: Side, amount: str, price: str, cid: str) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.LIMIT, D(amount), cid, price=D(price))


def market(side: Side, amount: str, cid: str, symbol: str = BTC) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.MARKET, D(amount), cid)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(secret: str, claims: dict) -> str:
    """An Upbit JWT built by hand (HS256), independent of ccxt."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = _b64(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"Bearer {head}.{body}.{sig}"


async def test_the_fake_checks_the_jwt_as_upbit_does():
    query = "market=KRW-BTC&limit=100"
    qhash = hashlib.sha512(query.encode()).hexdigest()
    ok = {"access_key": KEY, "nonce": str(uuid.uuid4()), "query_hash": qhash, "query_hash_alg": "SHA512"}
    cases = [  # (secret, claims, status, Upbit's error name)
        (SECRET, ok, 200, None),
        (SECRET, ok, 401, "nonce_used"),  # the same token again
        ("not-the-secret", {**ok, "nonce": str(uuid.uuid4())}, 401, "jwt_verification"),
        (SECRET, {**ok, "nonce": str(uuid.uuid4()), "query_hash": hashlib.sha512(b"market=KRW-ETH").hexdigest()},
         401, "invalid_query_payload"),
        (SECRET, {**ok, "nonce": str(uuid.uuid4()), "access_key": "nobody"}, 401, "invalid_access_key"),
    ]
    async with upbit() as fake, aiohttp.ClientSession() as http:
        for secret, claims, status, name in cases:
            async with http.get(f"{fake.url}/v1/orders/open?{query}",
                                headers={"Authorization": token(secret, claims)}) as r:
                body = await r.json()
            assert r.status == status, (name, body)
            assert (body["error"]["name"] if status != 200 else None) == name and (status == 200) == (body == [])


async def test_a_wrong_secret_is_an_invalid_key_with_upbits_reason_and_is_not_retried():
    async with upbit() as fake:
        g = gateway(fake, secret="not-the-secret-0000")
        try:
            with pytest.raises(InvalidKey, match="jwt_verification") as err:
                await g.fetch_balance()
        finally:
            await g.close()
        assert fake.count("balance") == 1 and "not-the-secret-0000" not in str(err.value)


async def test_markets_carry_the_tick_at_the_current_price_and_the_minimum_total():
    async with upbit() as fake:
        fake.set_price("XRP/KRW", "95")  # the 10-100 KRW band
        g = gateway(fake, api_key=None)
        try:
            m = await g.load_markets()
        finally:
            await g.close()
    got = {s: (m[s].price_step, m[s].min_cost, m[s].amount_step) for s in ("BTC/KRW", "XRP/KRW", "BTC/USDT")}
    assert got == {"BTC/KRW": (D(1000), D(5000), D("1e-8")), "XRP/KRW": (D("0.01"), D(5000), D("1e-8")),
                   "BTC/USDT": (D("0.01"), D("0.5"), D("1e-8"))}
    assert fake.count("instruments") == 1


# a limit price, the price on its own band's tick (KRW table), and a volume worth at least 5,000 KRW
BANDS = [("ETH/KRW", "777777", "778000", "0.01"), ("ETH/KRW", "999999.4", "1000000", "0.01"),
         ("ETH/KRW", "123456", "123500", "0.1"), ("ETH/KRW", "54321", "54300", "0.1"),
         ("ETH/KRW", "6543", "6545", "1"), ("XRP/KRW", "2777.7", "2778", "2"),
         ("XRP/KRW", "1234.56", "1235", "5"), ("XRP/KRW", "99.995", "100", "60"),
         ("XRP/KRW", "12.3456", "12.35", "500")]


async def test_limit_prices_are_rounded_on_their_own_bands_tick_and_the_venue_refuses_any_other():
    async with upbit() as fake:
        g = gateway(fake)
        try:
            placed = [await g.create_order(limit(s, Side.BUY, vol, price, f"tb1U1BEL{i}"))
                      for i, (s, price, _, vol) in enumerate(BANDS)]
            with pytest.raises(InvalidOrder, match="invalid_price_bid"):  # what Upbit says to an off-tick price
                await g._call("create", lambda: g._ex.privatePostOrders(
                    {"market": "KRW-ETH", "side": "bid", "ord_type": "limit", "price": "777777", "volume": "0.01"}),
                    private=True)
        finally:
            await g.close()
    assert [fake.orders[o.id].price for o in placed] == [D(want) for _, _, want, _ in BANDS]
    assert all(o.status == OrderStatus.OPEN for o in placed) and len(fake.created) == len(BANDS)


async def test_an_order_worth_less_than_5000_krw_is_refused_before_sending_and_by_the_venue():
    async with upbit() as fake:
        g = gateway(fake)
        try:
            with pytest.raises(BelowMinimum) as small:  # 0.00005 BTC × 90,000,000 = 4,500 KRW
                await g.create_order(limit(BTC, Side.BUY, "0.00005", "90000000", "tb1U1BEL1"))
            with pytest.raises(BelowMinimum):
                await g.create_order(market(Side.SELL, "0.00005", "tb1U1BEL2"))
            sent_before = fake.count("create")
            with pytest.raises(BelowMinimum, match="under_min_total_bid"):
                await g._call("create", lambda: g._ex.privatePostOrders(
                    {"market": "KRW-BTC", "side": "bid", "ord_type": "price", "price": "4999"}), private=True)
        finally:
            await g.close()
    assert "order value 4500 KRW is below the minimum 5000 KRW" in str(small.value)
    assert sent_before == 0 and not fake.created


async def test_a_market_buy_is_sent_as_a_krw_total_and_a_market_sell_by_volume():
    async with upbit() as fake:
        g = gateway(fake)
        try:
            even = await g.create_order(market(Side.BUY, "0.002", "tb1U1BEL1"))
            # 0.00123457 BTC × 90,000,000 = 111,111.3 KRW, sent as 111,111: 0.00123456 BTC and an unspendable rest,
            # which Upbit cancels, so the order ends `cancel` with its volume bought
            odd = await g.create_order(market(Side.BUY, "0.00123457", "tb1U1BEL2"))
            sold = await g.create_order(market(Side.SELL, "0.001", "tb1U1BES1"))
            again = await g.fetch_order(BTC, client_order_id="tb1U1BEL2")
        finally:
            await g.close()
    assert fake.totals == {even.id: D(180000), odd.id: D(111111)}  # ord_type=price: the KRW to spend
    assert (even.status, even.amount, even.filled, even.average, even.fee) == (
        OrderStatus.CLOSED, D("0.002"), D("0.002"), D(90000000), D(90))  # 0.05 % of 180,000 KRW
    assert fake.orders[odd.id].status == "canceled"
    assert (odd.status, odd.amount, odd.filled) == (again.status, again.amount, again.filled) == (
        OrderStatus.CLOSED, D("0.00123456"), D("0.00123456"))
    assert sold.id not in fake.totals and (sold.status, sold.filled) == (OrderStatus.CLOSED, D("0.001"))
    assert fake.accounts[KEY].balances["BTC"] == D("2.00223456")


def rest(fake: FakeUpbit, n: int) -> None:
    """`n` resting limit buys made at the fake directly (fast), identifiers tb9U9BEL0.."""
    for i in range(n):
        o = Order(f"seeded-{i}", f"tb9U9BEL{i}", "KRW-BTC", False, "buy", "limit", D("0.001"), D(80_000_000), KEY,
                  _now())
        fake.orders[o.id], fake.identifiers[KEY, o.client_id] = o, o.id


async def test_lookups_by_uuid_and_identifier_cancel_and_open_orders_a_page_at_a_time():
    async with upbit() as fake:
        rest(fake, 105)
        g = gateway(fake)
        try:
            placed = await g.create_order(limit(BTC, Side.BUY, "0.001", "85000000", "tb1U1BEL1"))
            by_id = await g.fetch_order(BTC, order_id=placed.id)
            by_cid = await g.fetch_order(BTC, client_order_id="tb1U1BEL1")
            listed = await g.fetch_open_orders(BTC)
            pages = fake.count("open_orders")
            canceled = await g.cancel_order(BTC, client_order_id="tb1U1BEL1")
            left = await g.fetch_open_orders(BTC)
            with pytest.raises(OrderNotFound):
                await g.cancel_order(BTC, client_order_id="tb1U1BEL404")
        finally:
            await g.close()
    assert by_id == by_cid and by_id.id == placed.id and by_id.client_order_id == "tb1U1BEL1"
    assert len(listed) == 106 and placed.id in {o.id for o in listed} and pages == 2
    assert canceled.status == OrderStatus.CANCELED and fake.orders[placed.id].status == "canceled"
    assert len(left) == 105 and placed.id not in {o.id for o in left}


async def test_fills_come_from_the_orders_trades_with_client_and_order_ids_and_their_share_of_the_fee():
    async with upbit() as fake:
        g = gateway(fake)
        try:
            bought = await g.create_order(market(Side.BUY, "0.002", "tb1U1BEL1"))
            rests = await g.create_order(limit(BTC, Side.SELL, "0.003", "91000000", "tb1U1BTP1"))
            fake.fill(rests.id, "0.001")  # partly filled: still open
            first = await g.fetch_my_trades(BTC)
            fake.fill(rests.id, "0.0015")
            fake.fill(rests.id)  # the rest: done
            second = await g.fetch_my_trades(BTC, since=first.cursor)
        finally:
            await g.close()
    fills = fake.fills
    assert [(t.id, t.order_id, t.client_order_id, t.side, t.amount, t.price) for t in first.trades] == [
        (fills[0].id, bought.id, "tb1U1BEL1", Side.BUY, D("0.002"), D(90000000)),
        (fills[1].id, rests.id, "tb1U1BTP1", Side.SELL, D("0.001"), D(91000000))]
    assert {f.id for f in fills[1:]} <= {t.id for t in second.trades}  # at or after the cursor
    assert all(t.ts >= first.cursor for t in second.trades)
    sells = [t for t in second.trades if t.order_id == rests.id]
    assert [t.amount for t in sells] == [D("0.001"), D("0.0015"), D("0.0005")]
    assert sum(t.fee for t in sells) == fake.orders[rests.id].fee == D("136.5")  # 0.05 % of 273,000 KRW
    assert all(t.fee_currency == "KRW" for t in second.trades) and second.cursor == second.trades[-1].ts


async def test_a_limit_order_resting_for_weeks_is_found_when_it_fills():
    """The closed list is searched by creation time (7 days a request): an order made weeks ago that fills now is
    found because the gateway saw it open, and after a restart once it has been looked up (as reconciliation does)."""
    async with upbit() as fake:
        g = gateway(fake)
        try:
            old = await g.create_order(limit(BTC, Side.BUY, "0.001", "80000000", "tb1U1BEL1"))
            fake.orders[old.id].ts = _now() - 20 * 86_400_000
            quiet = await g.fetch_my_trades(BTC)
            since = _now() - 1000
            fake.set_price(BTC, "80000000")
            seen = await g.fetch_my_trades(BTC, since=since)
            restarted = gateway(fake)
            try:
                before = await restarted.fetch_my_trades(BTC, since=since)
                await restarted.fetch_order(BTC, client_order_id="tb1U1BEL1")
                after = await restarted.fetch_my_trades(BTC, since=since)
            finally:
                await restarted.close()
        finally:
            await g.close()
    assert quiet.trades == [] and before.trades == []
    assert [(t.order_id, t.client_order_id) for t in seen.trades] == [(old.id, "tb1U1BEL1")] == [
        (t.order_id, t.client_order_id) for t in after.trades]


async def test_an_identifier_is_never_sent_twice_even_after_a_refusal():
    """Upbit keeps an identifier even when it refuses the order: the same client id again is refused as a
    duplicate, found nowhere, and reported as an invalid order — never a second order."""
    async with upbit() as fake:
        g = gateway(fake)
        try:
            with pytest.raises(InsufficientFunds):
                await g.create_order(market(Side.BUY, "5", "tb1U1BEL1"))  # 450,000,000 KRW
            with pytest.raises(InvalidOrder, match="duplicate"):
                await g.create_order(market(Side.BUY, "0.001", "tb1U1BEL1"))
        finally:
            await g.close()
    assert fake.count("create") == 2 and fake.count("fetch_order") == 1 and not fake.created


async def test_a_429_is_waited_out_and_retried():
    async with upbit() as fake:
        g = gateway(fake)
        fake.fail_next("rate_limit", op="balance")
        try:
            balance = await g.fetch_balance()
        finally:
            await g.close()
    assert balance["KRW"].total == D(100000000) and fake.count("balance") == 2
    assert fake.injected == [("balance", "rate_limit")]


async def test_request_weights_follow_upbits_groups():
    """ccxt's costs in units of 50 ms: quotation 2 (10/s), exchange calls 0.67 (30/s), orders 2.5 (8/s)."""
    async with upbit() as fake:
        budgets = Budgets()
        g = gateway(fake, budgets=budgets)
        public, private = budgets.public("upbit", 1.0), budgets.private("upbit", KEY, 1.0)
        try:
            spent = {}
            for name, call, budget in (
                    ("markets", g.load_markets, public), ("ticker", lambda: g.fetch_ticker(BTC), public),
                    ("balance", g.fetch_balance, private),
                    ("create", lambda: g.create_order(market(Side.BUY, "0.001", "tb1U1BEL1")), private)):
                before = budget.spent
                await call()
                spent[name] = budget.spent - before
        finally:
            await g.close()
    # markets: /v1/market/all and /v1/orderbook/instruments; a create: POST /v1/orders, then GET /v1/order
    assert spent == pytest.approx({"markets": 4.0, "ticker": 2.0, "balance": 0.67, "create": 2.5 + 0.67})


async def test_the_key_check_probes_trading_with_an_order_test_that_places_nothing():
    async with venue("upbit", can_trade=False) as fake:
        g = gateway(fake)
        try:
            check = await g.check_key()
        finally:
            await g.close()
    assert (check.valid, check.can_trade, check.can_withdraw, check.detail) == (True, False, None, "read only")
    assert fake.count("order_test") == 1 and not fake.created
