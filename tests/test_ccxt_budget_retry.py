"""Backoff with jitter for network-class errors only, rate limits honoured, and request budgets shared by every
gateway of one exchange (public) or one account (private) — measured on the fake exchange's request log."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from decimal import Decimal as D

import pytest

from engine.exchange.budget import Budget, Budgets, fingerprint
from engine.exchange.protocol import ExchangeUnavailable, InsufficientFunds, OrderRequest, OrderType, Side
from engine.exchange.retry import RetryPolicy
from tests.fakes.gateways import KEY, SECRET, gateway, venue

VENUES = ["okx", "binance", "bybit", "bitget", "upbit"]  # Upbit: its USDT market, BTC/USDT
SLOW = RetryPolicy(attempts=4, base=0.1, factor=2.0, cap=1.0, jitter=0.5)


def times(fake, op: str) -> list[float]:
    return [t for t, o, _ in fake.requests if o == op]


async def balance_weight(fake) -> float:
    """The weight the venue publishes for a balance request, as charged to an account's budget (the first call
    also loads the markets)."""
    budgets = Budgets()
    g = gateway(fake, budgets=budgets)
    budget = budgets.private(fake.venue, KEY, 1000.0)
    try:
        await g.fetch_balance()
        before = budget.spent
        await g.fetch_balance()
    finally:
        await g.close()
    return budget.spent - before


def test_backoff_grows_exponentially_with_bounded_jitter_and_a_cap():
    p = RetryPolicy(attempts=6, base=0.5, factor=2.0, cap=3.0, jitter=0.5)
    rng = random.Random(1)
    for retry, full in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (5, 3.0)):
        draws = [p.delay(retry, rng) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in draws)
        assert max(draws) - min(draws) > full * 0.3  # really jittered, not a constant


@pytest.mark.parametrize("v", VENUES)
async def test_network_errors_are_retried_with_growing_delays(v):
    async with venue(v) as fake:
        g = gateway(fake, policy=SLOW)
        fake.fail_next("server_error", op="balance", times=2)
        try:
            bal = await g.fetch_balance()
        finally:
            await g.close()
        t = times(fake, "balance")
        assert bal["USDT"].total == D(100000) and len(t) == 3
        assert t[1] - t[0] >= 0.05 and t[2] - t[1] >= 0.1  # ≥ base·(1−jitter), then doubled


@pytest.mark.parametrize("v", VENUES)
async def test_retries_stop_after_the_policy_and_say_unavailable(v, caplog):
    async with venue(v) as fake:
        g = gateway(fake)
        fake.fail_next("timeout", op="balance", times=10)
        try:
            with caplog.at_level(logging.WARNING, logger="engine.exchange.retry"), \
                    pytest.raises(ExchangeUnavailable) as err:
                await g.fetch_balance()
        finally:
            await g.close()
        retries = [r.getMessage() for r in caplog.records if "fetch_balance failed" in r.getMessage()]
        assert len(retries) == 3 and err.value.reason == "exchange_unavailable", retries  # 4 requests sent
        # the venue saw them all, but under load the last may time out before the fake's handler ran
        assert 3 <= len(times(fake, "balance")) <= 4


@pytest.mark.parametrize("v", VENUES)
async def test_business_refusals_are_never_retried(v):
    async with venue(v, balances={"USDT": "10"}) as fake:
        g = gateway(fake)
        try:
            with pytest.raises(InsufficientFunds):
                await g.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("0.01"), "tb1U1BEL1"))
        finally:
            await g.close()
        assert fake.count("create") == 1 and fake.count("fetch_order") == 0


async def test_binance_retry_after_pauses_every_gateway_of_the_account():
    """A 429 asks for 0.6 s: the retry and a second gateway of the same account both wait it out."""
    async with venue("binance", retry_after=0.6) as fake:
        budgets = Budgets()
        a, b = gateway(fake, budgets=budgets), gateway(fake, budgets=budgets)
        fake.fail_next("rate_limit", op="balance")
        try:
            task = asyncio.create_task(a.fetch_balance())
            while not fake.injected:  # a has been told to slow down
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.05)
            await b.fetch_balance()
            await task
        finally:
            await a.close()
            await b.close()
        t = times(fake, "balance")
        assert len(t) == 3 and fake.injected == [("balance", "rate_limit")]
        assert min(t[1:]) - t[0] >= 0.55  # nobody on this account asked again before Retry-After


async def test_okx_rate_limit_without_retry_after_backs_off_and_succeeds():
    async with venue("okx") as fake:
        g = gateway(fake, policy=SLOW)
        fake.fail_next("rate_limit", op="ticker", times=2)
        try:
            t = await g.fetch_ticker("BTC/USDT")
        finally:
            await g.close()
        ts = times(fake, "ticker")
        assert t.last == D(60000) and len(ts) == 3 and ts[2] - ts[1] >= 0.1


@pytest.mark.parametrize("v", VENUES)
async def test_private_budget_is_shared_by_gateways_of_one_account_not_across_accounts(v):
    async with venue(v) as fake:
        fake.add_account("other-key-123456", "other-secret-123456", "other-pass", {"USDT": "1"})
        w = await balance_weight(fake)
        rate = 40.0 * w  # weight units per second: 40 balances a second, bursts of 5 units
        budgets = Budgets()
        mine = [gateway(fake, budgets=budgets, rates=(1000.0, rate)) for _ in range(2)]
        other = gateway(fake, budgets=budgets, rates=(1000.0, rate), api_key="other-key-123456",
                        secret="other-secret-123456", passphrase="other-pass")
        try:
            t0 = time.monotonic()
            await asyncio.gather(*(g.fetch_balance() for g in mine for _ in range(10)))
            shared = time.monotonic() - t0
            t0 = time.monotonic()
            await asyncio.gather(*(other.fetch_balance() for _ in range(5)))
            alone = time.monotonic() - t0
        finally:
            for g in (*mine, other):
                await g.close()
        # 20 calls of weight w through one budget: 5 units at once, then one unit every 1/rate s
        assert shared >= (20 * w - 5) / rate * 0.9
        assert alone < 0.2  # the other account has its own, untouched budget
        assert len([k for k in budgets.names() if ":account:" in k]) == 2
        assert f"{v}:account:{fingerprint(KEY)}" in budgets.names()
        assert not any(KEY in k or SECRET in k for k in budgets.names())  # keyed by fingerprint, never the key


async def test_public_budget_is_one_per_exchange_for_all_users():
    async with venue("okx") as fake:
        budgets = Budgets()
        users = [gateway(fake, budgets=budgets, rates=(30.0, 1000.0), api_key=None) for _ in range(3)]
        try:
            t0 = time.monotonic()
            await asyncio.gather(*(g.fetch_ticker("BTC/USDT") for g in users for _ in range(5)))
            took = time.monotonic() - t0
        finally:
            for g in users:
                await g.close()
        assert budgets.names().count("okx:public") == 1
        assert took >= (15 - 5) / 30 * 0.9  # 15 tickers through one public budget (bursts of 5)


async def test_budget_spacing_and_pause():
    b = Budget(rate=50, burst=2)
    t0 = time.monotonic()
    for _ in range(6):
        await b.acquire()
    assert time.monotonic() - t0 >= (6 - 2) / 50 * 0.9
    b.pause(0.2)
    t1 = time.monotonic()
    await b.acquire()
    assert time.monotonic() - t1 >= 0.18


async def test_markets_are_loaded_once_for_every_gateway_of_an_exchange():
    async with venue("binance") as fake:
        gws = [gateway(fake, api_key=None) for _ in range(3)]
        try:
            markets = [await g.load_markets() for g in gws]
            price = await gws[2].fetch_ticker("BTC/USDT")  # a gateway fed from the shared cache works normally
        finally:
            for g in gws:
                await g.close()
        assert fake.count("markets") == 1 and markets[0] == markets[1] == markets[2] and price.last == D(60000)
