"""Per-endpoint request weights: every HTTP request a ccxt exchange sends is charged to the caller's budget."""

# ccxt carries each venue's published weight of an endpoint as `cost` in its api definitions (relative to the
# venue's `rateLimit`) and hands it to `throttle(cost)` before every request when rate limiting is on. A budgeted
# exchange class replaces that throttle with the process-wide budget the gateway is charging at the moment (a
# context variable, so concurrent callers each charge their own budget): one unified call that sends three
# requests (Bybit's markets: spot, linear, pre-launch) pays for three, a balance of weight 4 pays 4.
#
# Upbit counts requests per group: exchange calls 30 a second per account, orders (POST /v1/orders) 8, quotation 10
# per IP. ccxt states them as costs in units of its 50 ms rateLimit (0.67, 2.5, 2; cancelling all open orders 40),
# so one budget per account holds both exchange groups at once: never more than Upbit allows, at times less (a
# second of 8 orders leaves no room for other calls of that account).

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from engine.exchange.budget import Budget

_CHARGED: ContextVar[Budget | None] = ContextVar("tradingboost_request_budget", default=None)
_CLASSES: dict[type, type] = {}


@contextlib.contextmanager
def charging(budget: Budget) -> Iterator[None]:
    """Requests sent inside this block (in this task and the tasks it starts) are charged to `budget`."""
    token = _CHARGED.set(budget)
    try:
        yield
    finally:
        _CHARGED.reset(token)


async def _throttle(self, cost=None) -> None:
    budget = _CHARGED.get()
    if budget is not None:
        await budget.acquire(float(cost) if cost is not None else 1.0)


def budgeted(cls: type) -> type:
    """`cls` (a ccxt async exchange class) whose requests wait on the charged budget instead of ccxt's own
    limiter; build it with `enableRateLimit=True` so ccxt asks for each request's weight."""
    sub = _CLASSES.get(cls)
    if sub is None:
        sub = _CLASSES[cls] = type(cls.__name__, (cls,), {"throttle": _throttle, "__module__": __name__})
    return sub


def units_per_second(exchange) -> float:
    """The venue's request allowance in its own weight units, as ccxt states it (`rateLimit` ms per unit)."""
    return 1000.0 / float(exchange.rateLimit)
