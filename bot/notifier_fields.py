"""What each notification payload field means (price, base amount, money, percentage…) and how it is shown.

The keys are those engine/runtime/events.py documents, plus the numbers strategy notes and refused plans put in
`details`. A payload's `_market` gives the tick, the lot (base units) and the currencies; without it every kind
falls back to a bounded number of decimals (bot/numbers.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot import numbers
from bot.numbers import MarketNumbers

PRICES = frozenset({
    "price", "average", "stop", "best", "previous", "trigger", "trigger_price", "entry", "entry_price", "mark",
    "mark_price", "reference", "take_profit", "lower", "upper", "lowest", "highest", "lower_price", "upper_price",
    "stop_price", "tick", "liquidation_price",
})
AMOUNTS = frozenset({"amount", "size", "position", "closed", "base", "filled", "remaining", "min_amount", "lot", "qty"})
MONEY = frozenset({
    "pnl", "realized_pnl", "unrealized_pnl", "upnl", "fee", "fees", "balance", "cost", "min_cost", "margin",
    "notional", "equity", "investment", "capital", "funding",
})
PCTS = frozenset({"pct", "percent", "return_pct", "drawdown_pct"})
INDICATORS = frozenset({"rsi", "rsi_prev", "atr"})  # shown to 2 decimals, no unit
_INTEGER = re.compile(r"-?\d+")
HYPERRSI_LEVEL_IS_PRICE = "reference"  # a pyramid note's `level` is a price when `reference` is beside it


def kind_of(name: str, siblings: Mapping[str, Any]) -> str:
    """"price", "amount", "money", "pct", "indicator" or "other" for the field `name` of a payload or details."""
    if name == "level" and HYPERRSI_LEVEL_IS_PRICE in siblings:
        return "price"
    if name in PRICES or name.endswith("_price"):
        return "price"
    if name in AMOUNTS:
        return "amount"
    if name in MONEY or name.endswith("_pnl"):
        return "money"
    if name in PCTS or name.endswith("_pct"):
        return "pct"
    if name in INDICATORS:
        return "indicator"
    return "other"


def number(name: str, value: int | float | str, m: MarketNumbers, siblings: Mapping[str, Any]) -> str:
    """`value` of the field `name` for people; a value that is not a finite number is shown as it came."""
    if numbers.to_decimal(value) is None:
        return str(value)
    kind = kind_of(name, siblings)
    if kind == "price":
        return m.price(value)
    if kind == "amount":
        return m.amount(value)
    if kind == "money":
        if name == "fee":
            return _fee(value, m, siblings)
        return m.money(value)
    if kind == "pct":
        return numbers.pct(value)
    if kind == "indicator":
        return numbers.fixed(value, 2)
    if _INTEGER.fullmatch(str(value).strip()):
        return str(value).strip()  # ids, counts, levels, stages: never grouped or rounded
    return numbers.plain(value, m.max_decimals)


def _fee(value: int | float | str, m: MarketNumbers, siblings: Mapping[str, Any]) -> str:
    """A fee in its own currency: the template names the currency beside it when the payload has one."""
    currency = siblings.get("fee_currency")
    if not currency:
        return m.money(value)
    if currency == m.quote or (m.quote is None and currency in ("USDT", "USDC", "USD", "KRW")):
        return numbers.money(value)
    return numbers.plain(value, numbers.FALLBACK_DECIMALS)  # charged in the base coin or another token
