"""Process-wide request budgets: one per exchange for public calls, one per account (key fingerprint) for private."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field


def fingerprint(api_key: str) -> str:
    """A stable, non-reversible label for an API key: budgets and logs use it, never the key."""
    return hashlib.sha256(f"tradingboost-budget:{api_key}".encode()).hexdigest()[:16]


@dataclass(slots=True)
class Budget:
    """Spacing limiter (GCRA): at most `rate` units of request weight per second on average, bursts of up to
    `burst` units. A request costs its endpoint's weight as the venue publishes it (1 when not given), so a heavy
    endpoint holds the next caller back longer than a light one.

    A slot is reserved synchronously before sleeping, so concurrent callers queue in call order without a
    lock (and without being bound to one event loop). `pause()` holds every caller back, e.g. after a 429.
    """

    rate: float
    burst: int = 1
    _tat: float = 0.0  # theoretical arrival time of the next request
    _paused_until: float = 0.0
    waited: float = field(default=0.0)  # total seconds callers were held back (for tests and metrics)
    spent: float = field(default=0.0)  # total weight charged

    async def acquire(self, cost: float = 1.0) -> None:
        now = time.monotonic()
        interval = 1.0 / self.rate
        tat = max(self._tat, now, self._paused_until)
        allow_at = max(tat + (cost - self.burst) * interval, self._paused_until)
        self._tat = tat + cost * interval
        self.spent += cost
        wait = allow_at - now
        if wait > 0:
            self.waited += wait
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class Budgets:
    """Budgets by key; the first caller of a key fixes its rate (weight units per second, as the venue counts)."""

    def __init__(self) -> None:
        self._by_key: dict[str, Budget] = {}

    def get(self, key: str, rate: float, burst: int = 1) -> Budget:
        b = self._by_key.get(key)
        if b is None:
            b = self._by_key[key] = Budget(rate, burst)
        return b

    def public(self, exchange_id: str, rate: float, burst: int = 1) -> Budget:
        return self.get(f"{exchange_id}:public", rate, burst)

    def private(self, exchange_id: str, api_key: str, rate: float, burst: int = 1) -> Budget:
        return self.get(f"{exchange_id}:account:{fingerprint(api_key)}", rate, burst)

    def names(self) -> list[str]:
        return sorted(self._by_key)

    def waited_by_venue(self) -> dict[str, float]:
        """Seconds callers were held back, per "<exchange>:public" and "<exchange>:accounts" (all keys summed)."""
        out: dict[str, float] = {}
        for key, b in self._by_key.items():
            venue, kind = key.split(":")[:2]
            name = f"{venue}:{'public' if kind == 'public' else 'accounts'}"
            out[name] = out.get(name, 0.0) + b.waited
        return out


BUDGETS = Budgets()  # shared by every gateway of the process, whichever user it serves
