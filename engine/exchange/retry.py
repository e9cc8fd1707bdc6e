"""Retries with exponential backoff and jitter, for network-class ccxt errors only, honouring rate limits."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from engine.exchange.budget import Budget
from engine.exchange.ccxt_lazy import ccxt

log = logging.getLogger(__name__)
T = TypeVar("T")

RATE_LIMITED = (ccxt.RateLimitExceeded, ccxt.DDoSProtection)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # calls in all, the first included
    base: float = 0.5  # seconds before the first retry
    factor: float = 2.0
    cap: float = 8.0
    jitter: float = 0.5  # the delay is drawn from [d·(1 − jitter), d]

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        d = min(self.cap, self.base * self.factor ** (retry - 1))
        return d * (1 - self.jitter * (rng or random).random())


def is_retryable(e: BaseException) -> bool:
    """Network-class trouble (timeouts, 5xx, connection errors, rate limits); never a business refusal."""
    return isinstance(e, ccxt.NetworkError)


async def retrying(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    budget: Budget,
    *,
    what: str,
    retry_after: Callable[[BaseException], float | None] = lambda e: None,
    describe: Callable[[BaseException], str] = lambda e: type(e).__name__,
) -> T:
    """Run `call`, retrying network-class errors; the last error propagates. The call's requests charge their
    weights to `budget` themselves (engine/exchange/ccxt_weights.py).

    A rate-limit answer pauses the whole shared budget for the venue's Retry-After (or the backoff delay), so
    every user of that exchange/account slows down, not only the one who hit it.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except Exception as e:
            if not is_retryable(e) or attempt == policy.attempts:
                raise
            delay = policy.delay(attempt)
            if isinstance(e, RATE_LIMITED):
                delay = max(delay, retry_after(e) or 0.0)
                budget.pause(delay)
            log.warning("%s failed (%s), retry %d/%d in %.2fs", what, describe(e), attempt, policy.attempts - 1,
                        delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
