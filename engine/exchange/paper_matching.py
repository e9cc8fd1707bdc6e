"""Pure candle matching for simulated orders, shared by the paper exchange and the backtester.

Within a candle the price is assumed to travel open → low → high → close when the candle closes at or above
its open, else open → high → low → close (the usual OHLC path). Orders fill in the order the path reaches
them, so a stop and a take-profit in one candle resolve the same way every time. Fills never leave [low, high].
Works on floats or on Decimals, as long as one kind is used throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SimOrder:
    id: str
    side: str  # "buy" / "sell"
    type: str  # "market", "limit", "stop_market"
    amount: Any  # remaining
    price: Any = None  # limit price
    trigger: Any = None  # stop trigger
    seq: int = 0  # placement order, the tie-breaker


@dataclass(frozen=True, slots=True)
class SimFill:
    order_id: str
    price: Any
    taker: bool
    position: float  # where on the candle's path it happened (0 = open, 3 = close)


def path(o, h, low, c) -> tuple:
    return (o, low, h, c) if c >= o else (o, h, low, c)


def _first_touch(points: tuple, target, rising: bool) -> float | None:
    """Path position where the price first reaches `target` going up (rising) or down; None if never."""
    for i in range(3):
        a, b = points[i], points[i + 1]
        if (rising and a <= target <= b) or (not rising and b <= target <= a):
            return i + (float((target - a) / (b - a)) if b != a else 0.0)
    return None


def _clamp(x, low, h):
    return min(max(x, low), h)


def match(orders: list[SimOrder], o, h, low, c, slippage) -> list[SimFill]:
    """The fills of resting/pending `orders` during one candle; `slippage` is a fraction (0.0005 = 5 bps).

    Market orders fill at the open (the next price after they were placed), adversely slipped. A limit order
    that is already marketable at the open fills there (taker, never worse than its limit); otherwise when the
    path reaches its price, at its price (maker). A stop-market fills at the open if already triggered, else
    at its trigger; both slipped adversely and kept inside the candle. Fills come in path order.
    """
    pts = path(o, h, low, c)
    one = slippage * 0 + 1  # 1 of the same number type
    fills: list[SimFill] = []
    for od in orders:
        buy = od.side == "buy"
        adverse = one + slippage if buy else one - slippage
        if od.type == "market":
            fills.append(SimFill(od.id, _clamp(o * adverse, low, h), True, 0.0))
        elif od.type == "limit":
            if (buy and od.price >= o) or (not buy and od.price <= o):
                px = min(o * adverse, od.price) if buy else max(o * adverse, od.price)
                fills.append(SimFill(od.id, _clamp(px, low, h), True, 0.0))
            else:
                at = _first_touch(pts, od.price, rising=not buy)
                if at is not None:
                    fills.append(SimFill(od.id, od.price, False, at))
        elif od.type == "stop_market":
            if (buy and o >= od.trigger) or (not buy and o <= od.trigger):
                fills.append(SimFill(od.id, _clamp(o * adverse, low, h), True, 0.0))
            else:
                at = _first_touch(pts, od.trigger, rising=buy)
                if at is not None:
                    fills.append(SimFill(od.id, _clamp(od.trigger * adverse, low, h), True, at))
        else:
            raise ValueError(f"unknown order type {od.type!r}")
    # A market order was sent before the candle opened, so at the open it goes before a stop the open gaps
    # through; otherwise placement order breaks ties.
    rank = {od.id: (od.type != "market", od.seq) for od in orders}
    return sorted(fills, key=lambda f: (f.position, rank[f.order_id]))
