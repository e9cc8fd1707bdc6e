"""Test helper: a fake exchange plus ccxt gateways pointed at it, with short timeouts and small backoff delays."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from engine.exchange.budget import Budgets
from engine.exchange.ccxt_gateway import CcxtGateway
from engine.exchange.protocol import MarketType
from engine.exchange.retry import RetryPolicy
from tests.fakes.fake_exchange import FakeExchange

KEY, SECRET, PASSPHRASE = "tb-test-key-4f1c9a", "tb-test-secret-8d2e7b6a", "tb-Passphrase-93"
FAST = RetryPolicy(attempts=4, base=0.02, factor=2.0, cap=0.2, jitter=0.5)
TIMEOUT_MS = 400  # the fake hangs 1.2 s, well past this


def gateway(fake: FakeExchange, market_type: MarketType = MarketType.SPOT, *, api_key: str | None = KEY,
            secret: str = SECRET, passphrase: str = PASSPHRASE, budgets: Budgets | None = None,
            policy: RetryPolicy = FAST, rates: tuple[float, float] = (1000.0, 1000.0), **kw) -> CcxtGateway:
    return CcxtGateway(fake.venue, market_type, api_key=api_key, secret=secret if api_key else None,
                       passphrase=passphrase if api_key else None, urls_override=fake.url,
                       budgets=budgets or Budgets(), policy=policy, timeout_ms=TIMEOUT_MS, lookup_delay=0.0,
                       rates=rates, **kw)


@contextlib.asynccontextmanager
async def venue(name: str, data_dir: Path | None = None, balances: dict | None = None,
                retry_after: float = 0.3, **account_kw) -> AsyncIterator[FakeExchange]:
    async with FakeExchange(name, data_dir=data_dir, hang_seconds=1.2, retry_after=retry_after) as fake:
        fake.add_account(KEY, SECRET, PASSPHRASE, balances or {"USDT": "100000", "BTC": "2", "ETH": "10"},
                         **account_kw)
        yield fake
