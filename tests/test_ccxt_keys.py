"""Key checks for registration (valid, trading, withdrawal) and secrets kept out of every message and log line."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest

from engine.exchange.protocol import InvalidKey, OrderRequest, OrderType, Side, UnknownOutcome
from tests.fakes.gateways import KEY, PASSPHRASE, SECRET, gateway, venue

VENUES = ["okx", "binance", "bybit", "bitget", "upbit"]
UNKNOWN_KEY_REASON = {"okx": "OK-ACCESS-KEY", "binance": "Invalid API-key", "bybit": "API key is invalid",
                      "bitget": "Apikey does not exist", "upbit": "invalid_access_key"}
WITHDRAWAL_UNTOLD = {"upbit"}  # Upbit publishes no key permissions: trading is probed with an order test
UNKNOWN_KEY = "tb-unknown-key-77aa31"


@pytest.mark.parametrize("v", VENUES)
@pytest.mark.parametrize(("can_trade", "can_withdraw"), [(True, False), (True, True), (False, False)])
async def test_check_key_reports_trading_and_withdrawal(v, can_trade, can_withdraw):
    async with venue(v, can_trade=can_trade, can_withdraw=can_withdraw) as fake:
        g = gateway(fake)
        try:
            check = await g.check_key()
        finally:
            await g.close()
    told = None if v in WITHDRAWAL_UNTOLD else can_withdraw
    assert (check.valid, check.can_trade, check.can_withdraw) == (True, can_trade, told)
    assert ("withdraw" in check.detail) == bool(told)


WRONG = {"secret": "not-the-secret-0000", "api_key": UNKNOWN_KEY, "passphrase": "not-the-pass"}


@pytest.mark.parametrize(("v", "wrong"), [("okx", "secret"), ("okx", "api_key"), ("okx", "passphrase"),
                                          ("binance", "secret"), ("binance", "api_key"), ("bybit", "secret"),
                                          ("bybit", "api_key"), ("bitget", "secret"), ("bitget", "api_key"),
                                          ("bitget", "passphrase"), ("upbit", "secret"), ("upbit", "api_key")])
async def test_a_wrong_credential_is_an_invalid_key(v, wrong):
    async with venue(v) as fake:
        g = gateway(fake, **{wrong: WRONG[wrong]})
        try:
            check = await g.check_key()
            with pytest.raises(InvalidKey) as err:
                await g.fetch_balance()
        finally:
            await g.close()
        assert (check.valid, check.can_trade) == (False, False)
        assert fake.count("balance") == 2 and not fake.created  # refused by the fake's signature check, not retried
        for s in (SECRET, PASSPHRASE, UNKNOWN_KEY, "not-the-secret-0000", "not-the-pass"):
            assert s not in str(err.value)


@pytest.mark.parametrize("v", VENUES)
async def test_no_secret_in_any_exception_or_log_record(v, caplog):
    """Drive failures that log and raise (lost answers, timeouts, unknown key echoed back by the venue)."""
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    async with venue(v) as fake:
        g = gateway(fake)
        bad = gateway(fake, api_key=UNKNOWN_KEY)
        fake.fail_next("lost", op="create")
        fake.fail_next("timeout", op="fetch_order", times=10)
        fake.fail_next("server_error", op="balance", times=2)
        try:
            await g.fetch_balance()
            try:
                await g.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("0.001"), "tb1U1BEL1"))
            except UnknownOutcome as e:
                errors.append(e)
            try:
                await bad.fetch_balance()
            except InvalidKey as e:
                errors.append(e)
        finally:
            await g.close()
            await bad.close()
    assert len(errors) == 2
    assert any(UNKNOWN_KEY_REASON[v] in str(e) for e in errors)  # the venue's reason kept
    texts = [str(e) for e in errors] + [repr(g), repr(bad)]
    texts += [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert len(caplog.records) >= 3  # retries and the lost answer were logged
    for text in texts:
        for s in (KEY, SECRET, PASSPHRASE, UNKNOWN_KEY):
            assert s not in text, text
