"""Per-endpoint request weights: each request charges the budget the weight its venue publishes (read from ccxt's
api definitions), so a heavy endpoint uses more of the budget, and holds the next caller back longer, than a
light one."""

from __future__ import annotations

import time

import pytest

from engine.exchange.budget import Budget, Budgets
from tests.fakes.gateways import KEY, gateway, venue

SPOT = "BTC/USDT"
OPS = {
    "balance": lambda g: g.fetch_balance(),
    "open_orders": lambda g: g.fetch_open_orders(SPOT),
    "trades": lambda g: g.fetch_my_trades(SPOT),
    "ticker": lambda g: g.fetch_ticker(SPOT),
    "ohlcv": lambda g: g.fetch_ohlcv(SPOT, "1m", limit=10),
    "key_check": lambda g: g.check_key(),
}
# venue: (budget, heavy op, light op, their weights in the venue's units as published)
WEIGHTS = {
    # OKX: candles 40 requests / 2 s, ticker 20 / 2 s (ccxt's unit: 1 request per 110 ms)
    "okx": ("public", "ticker", "ohlcv", 1.0, 0.5),
    # Binance spot: GET /api/v3/account weight 20, GET /api/v3/openOrders with a symbol weight 6 (unit: 5 weight)
    "binance": ("private", "balance", "open_orders", 4.0, 1.2),
    # Bybit: /v5/execution/list 10 / s, /v5/account/wallet-balance 50 / s (unit: 1 request per 20 ms)
    "bybit": ("private", "trades", "balance", 5.0, 1.0),
    # Bitget: a key check reads the balance (/api/v2/spot/account/assets 10 / s) and the key's permissions
    # (/api/v2/spot/account/info 1 / s) (unit: 1 request per 50 ms)
    "bitget": ("private", "key_check", "balance", 22.0, 2.0),
    # Upbit: every exchange call 30 / s, orders 8 / s, quotation 10 / s (unit: 1 request per 50 ms); its fills are
    # two listings, the open and the closed orders, of 0.67 each
    "upbit": ("private", "trades", "balance", 1.34, 0.67),
}


@pytest.mark.parametrize("v", sorted(WEIGHTS))
async def test_a_heavy_endpoint_consumes_more_of_the_budget_than_a_light_one(v):
    kind, heavy_op, light_op, heavy_w, light_w = WEIGHTS[v]
    async with venue(v) as fake:
        budgets = Budgets()
        g = gateway(fake, budgets=budgets)
        budget = budgets.private(v, KEY, 1.0) if kind == "private" else budgets.public(v, 1.0)
        try:
            await g.load_markets()
            await g.fetch_balance()  # ccxt's own market cache is warm too: one request per call from here
            spent = {}
            for op in (heavy_op, light_op):
                before = budget.spent
                await OPS[op](g)
                spent[op] = budget.spent - before
        finally:
            await g.close()
    assert spent[heavy_op] == pytest.approx(heavy_w) and spent[light_op] == pytest.approx(light_w)
    assert spent[heavy_op] > spent[light_op]


async def test_a_heavy_request_holds_callers_back_by_its_weight():
    async def two_requests(first_cost: float) -> float:
        """Seconds until a second request may go, after a first of `first_cost`, from an idle budget."""
        b = Budget(rate=100.0, burst=1)
        t0 = time.monotonic()
        await b.acquire(first_cost)
        await b.acquire()
        return time.monotonic() - t0

    light, heavy = await two_requests(1.0), await two_requests(5.0)
    assert heavy >= 0.045 and light < 0.03 and heavy > light * 2
