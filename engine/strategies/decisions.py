"""One candle's decision as a compact JSON record for the chat's /why: signals, the rules that fired or blocked, orders.

A record is a plain dict (it is stored in the bot's runtime state, a short ring of the last candles):

    {"ts": candle open (ms, set by the runtime), "close": price, "sig": {signal values of the strategy},
     "rules": [[code, {numbers}], ...],       # what fired or blocked, most important first
     "orders": [[kind, role, side, amount, price], ...],  # what followed; price None = at market
     "more": n}                                 # orders not listed (a grid may place many at once)

The codes are the strategies' own (hyperrsi_why.py, grid_why.py list them); bot/why_render.py words them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from engine.strategies.intents import Intent

MAX_ORDERS = 8  # orders listed per candle; the rest are counted


def num(v: Any) -> Any:
    """A float fit for JSON (NaN and infinities as None), rounded to 10 significant digits; other values as they are."""
    if isinstance(v, bool) or not isinstance(v, float):
        return v
    if not math.isfinite(v):
        return None
    return float(f"{v:.10g}")


def clean(details: dict[str, Any]) -> dict[str, Any]:
    return {k: num(v) for k, v in details.items() if isinstance(v, (int, float, str, bool)) or v is None}


def rule(code: str, **details: Any) -> list:
    return [code, clean(details)]


def record(close: float, sig: dict[str, Any], rules: list[list], intents: Iterable[Intent]) -> dict[str, Any]:
    orders = [[i.kind.value, i.role.value if i.role is not None else "", i.side, num(i.amount), num(i.price)]
              for i in intents]
    out: dict[str, Any] = {"ts": None, "close": num(close), "sig": clean(sig), "rules": rules,
                           "orders": orders[:MAX_ORDERS]}
    if len(orders) > MAX_ORDERS:
        out["more"] = len(orders) - MAX_ORDERS
    return out
