"""Demo/testnet accounts: the gateway's `sandbox` option reaches each venue's demo environment through ccxt
(OKX and Bitget by a header, Binance and Bybit by their demo hosts), refuses Upbit, and trades on the fake."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.exchange.ccxt_gateway import CcxtGateway
from engine.exchange.ccxt_venues import DEMO_TRADING, SANDBOX, VENUES
from engine.exchange.protocol import InvalidKey, MarketType, OrderRequest, OrderStatus, OrderType, Side
from tests.fakes.gateways import gateway, venue

DEMO_VENUES = sorted(v for v in VENUES if VENUES[v].demo)
ENV_HOSTS = {"binance": "demo-api.binance.com", "bybit": "api-demo."}


def test_which_venues_have_a_demo_environment():
    assert {v: VENUES[v].demo for v in VENUES} == {"okx": SANDBOX, "bitget": SANDBOX, "binance": DEMO_TRADING,
                                                   "bybit": DEMO_TRADING, "upbit": None}
    with pytest.raises(ValueError, match="no demo"):
        CcxtGateway("upbit", MarketType.SPOT, sandbox=True)


@pytest.mark.parametrize("v", DEMO_VENUES)
@pytest.mark.parametrize("mtype", [MarketType.SPOT, MarketType.SWAP])
async def test_sandbox_reaches_the_venues_demo_environment_and_live_does_not(v, mtype):
    demo, live = CcxtGateway(v, mtype, sandbox=True), CcxtGateway(v, mtype)
    try:
        if v == "okx":
            assert demo._ex.headers.get("x-simulated-trading") == "1" and "x-simulated-trading" not in live._ex.headers
        elif v == "bitget":  # ccxt adds PAPTRADING: 1 to every signed request in this mode
            assert demo._ex.options["sandboxMode"] is True and not live._ex.options["sandboxMode"]
        else:
            urls = [u for u in demo._ex.urls["api"].values() if isinstance(u, str)]
            assert urls and all("demo" in u for u in urls)
            assert not any(ENV_HOSTS[v] in u for u in live._ex.urls["api"].values() if isinstance(u, str))
        assert "sandbox" in repr(demo) and "sandbox" not in repr(live)
    finally:
        await demo.close()
        await live.close()


WRONG_ENV = {"okx": "environment", "bitget": "Apikey does not exist"}  # OKX 50101; Bitget knows no such key there


@pytest.mark.parametrize("v", sorted(WRONG_ENV))
async def test_a_demo_key_trades_in_the_demo_environment_only(v):
    """OKX and Bitget tell environments apart by a header: a demo key works with sandbox mode and is refused
    without it, as the real venue refuses it, and a live key is refused in the demo environment."""
    async with venue(v, demo=True) as fake:
        fake.add_account("live-key-0000", "live-secret-0000", "live-pass", {"USDT": "5"})
        demo = gateway(fake, sandbox=True)
        wrong_env = gateway(fake)
        live_in_demo = gateway(fake, sandbox=True, api_key="live-key-0000", secret="live-secret-0000",
                               passphrase="live-pass")
        try:
            assert (await demo.fetch_balance())["USDT"].total == D(100000)
            info = await demo.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("0.01"),
                                                        "tb1U1BEL1"))
            check = await demo.check_key()
            with pytest.raises(InvalidKey, match=WRONG_ENV[v]):
                await wrong_env.fetch_balance()
            with pytest.raises(InvalidKey):
                await live_in_demo.fetch_balance()
        finally:
            for g in (demo, wrong_env, live_in_demo):
                await g.close()
        assert info.status == OrderStatus.CLOSED and fake.orders[info.id].client_id == "tb1U1BEL1"
        assert (check.valid, check.can_trade, check.can_withdraw) == (True, True, False)


async def test_bybit_demo_trading_runs_on_the_fake_through_the_demo_urls():
    """The demo hosts overridden to the fake: leverage, a swap order, its position; the key check skips the
    permission endpoint that Bybit's demo trading does not serve."""
    async with venue("bybit") as fake:
        g = gateway(fake, MarketType.SWAP, sandbox=True)
        sym = "BTC/USDT:USDT"
        try:
            await g.set_leverage(sym, 3)
            info = await g.create_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, D("0.002"), "tb1U1BEL2"))
            positions = await g.fetch_positions()
            check = await g.check_key()
        finally:
            await g.close()
        assert info.status == OrderStatus.CLOSED and [(p.amount, p.leverage) for p in positions] == [(D("0.002"), 3)]
        assert (check.valid, check.can_trade, check.can_withdraw) == (True, True, None)
        assert fake.count("key_info") == 0
