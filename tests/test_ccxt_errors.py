"""ccxt exceptions → domain errors, scrubbing, and the five venues' gateways built and failing cleanly offline."""

from __future__ import annotations

import socket
from decimal import Decimal as D

import pytest

from engine.exchange import protocol as p
from engine.exchange.ccxt_errors import is_duplicate_id, scrub, to_domain
from engine.exchange.ccxt_gateway import CcxtGateway
from engine.exchange.ccxt_lazy import ccxt
from engine.exchange.ccxt_venues import VENUES
from engine.exchange.protocol import MarketType
from tests.fakes.gateways import FAST

SECRETS = ("my-api-key-123", "my-secret-456", "my-pass-789")


@pytest.mark.parametrize(("exc", "domain"), [
    (ccxt.AuthenticationError("okx {\"code\":\"50113\"}"), p.InvalidKey),
    (ccxt.PermissionDenied("no trade permission"), p.MissingPermission),
    (ccxt.AccountNotEnabled("futures not enabled"), p.MissingPermission),
    (ccxt.InsufficientFunds("51008"), p.InsufficientFunds),
    (ccxt.OrderNotFound("51603"), p.OrderNotFound),
    (ccxt.MarketClosed("market closed"), p.MarketClosed),
    (ccxt.RequestTimeout("timed out"), p.ExchangeUnavailable),
    (ccxt.OnMaintenance("50001"), p.ExchangeUnavailable),
    (ccxt.RateLimitExceeded("50011"), p.ExchangeUnavailable),
    (ccxt.InvalidOrder("okx {\"sCode\":\"51020\",\"sMsg\":\"Order amount should be greater than the min\"}"),
     p.BelowMinimum),
    (ccxt.BadRequest("binance {\"code\":-1013,\"msg\":\"Filter failure: NOTIONAL\"}"), p.BelowMinimum),
    (ccxt.InvalidOrder("51016 Duplicated clOrdId"), p.InvalidOrder),
    (ccxt.ExchangeError('bitget {"code":"40786","msg":"Duplicate clientOid"}'), p.InvalidOrder),
    (ccxt.InvalidOrder('bitget {"code":"45110","msg":"less than the minimum amount 5 USDT"}'), p.BelowMinimum),
    (ccxt.BadSymbol("no such market"), p.InvalidOrder),
    (ccxt.ExchangeError("something else"), p.ExchangeError),
])
def test_mapping(exc, domain):
    got = to_domain(exc, "okx", SECRETS)
    assert type(got) is domain and got.reason == domain.reason and got.reason in str(got)


def test_messages_lose_secrets_and_signed_query_strings():
    e = ccxt.AuthenticationError("okx GET https://x/api?apiKey=my-api-key-123&signature=abc bad key my-api-key-123 "
                                 "secret my-secret-456 pass my-pass-789")
    text = str(to_domain(e, "okx", SECRETS))
    assert not any(s in text for s in SECRETS) and "signature" not in text and "***" in text
    assert len(scrub("x" * 1000, ())) == 300


def test_duplicate_id_detection():
    assert is_duplicate_id(ccxt.InvalidOrder('okx {"sCode":"51016","sMsg":"Duplicated clOrdId"}'))
    assert is_duplicate_id(ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'))
    assert not is_duplicate_id(ccxt.InvalidOrder("Filter failure: LOT_SIZE"))
    # Bitget's code, which ccxt leaves a plain ExchangeError; never a network failure that happens to say it
    assert is_duplicate_id(ccxt.ExchangeError('bitget {"code":"40786","msg":"Duplicate clientOid"}'))
    assert not is_duplicate_id(ccxt.RequestTimeout("bitget 40786"))


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("venue", "mtype"), [(v, t) for v in sorted(VENUES) for t in VENUES[v].default_type])
async def test_every_venue_builds_points_at_the_override_and_reports_unavailable(venue, mtype):
    base = f"http://127.0.0.1:{_dead_port()}"  # nobody listens: connection refused
    g = CcxtGateway(venue, mtype, api_key=SECRETS[0], secret=SECRETS[1], passphrase=SECRETS[2], urls_override=base,
                    policy=FAST, timeout_ms=500)
    try:
        api = g._ex.urls["api"]
        urls = [u for u in (api.values() if isinstance(api, dict) else [api]) if isinstance(u, str)]
        assert urls and all(u.startswith(base) for u in urls)
        assert g._ex.options["defaultType"] == VENUES[venue].default_type[mtype]
        with pytest.raises(p.ExchangeUnavailable) as err:
            await g.fetch_balance()
        assert not any(s in str(err.value) for s in SECRETS)
    finally:
        await g.close()


async def test_upbit_refuses_a_stop_order_before_sending_anything():
    g = CcxtGateway("upbit", MarketType.SPOT, api_key=SECRETS[0], secret=SECRETS[1],
                    urls_override=f"http://127.0.0.1:{_dead_port()}", policy=FAST, timeout_ms=500)
    try:
        with pytest.raises(p.InvalidOrder, match="no stop orders"):
            await g.create_order(p.OrderRequest("BTC/KRW", p.Side.SELL, p.OrderType.STOP_MARKET, D("0.001"),
                                                "tb1U1BSL1", trigger_price=D("90000000")))
    finally:
        await g.close()


def test_upbit_is_spot_only_and_unknown_venues_are_refused():
    with pytest.raises(ValueError, match="no swap"):
        CcxtGateway("upbit", MarketType.SWAP)
    with pytest.raises(ValueError, match="unsupported exchange"):
        CcxtGateway("kraken", MarketType.SPOT)
