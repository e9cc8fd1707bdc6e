"""Numbers for people: prices to the market's tick, amounts to its lot with the unit, money to 2 decimals, percents.

Every message that shows a price, an amount, money or a percentage formats it here, in both languages. A step
(tick or lot) is a Decimal, a string or a float; without one (None or 0) a bounded fallback applies: at most
`FALLBACK_DECIMALS` decimals, trailing zeros dropped. Thousands are grouped with ","; the minus sign is "-";
a value that rounds to zero never shows as "-0". Non-finite or unparsable values come back as "?".

    price(61633.61, "0.1")               -> "61,633.6"
    amount(0.0007000000000000001, "0.0001", "BTC") -> "0.0007 BTC"
    money(0.24217204799999886, "USDT")   -> "0.24 USDT"
    pct(12.3456)                         -> "12.35%"
    MarketNumbers.from_info(payload["_market"]).amount(v) -> "0.0007 BTC"
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

FALLBACK_DECIMALS = 8  # amounts and prices of a market whose step is unknown
MONEY_DECIMALS = 2
PCT_DECIMALS = 2
UNKNOWN = "?"

Number = Decimal | float | int | str


def to_decimal(v: Any) -> Decimal | None:
    """`v` as a finite Decimal (floats through their shortest repr), or None."""
    if v is None or isinstance(v, bool):
        return None
    try:
        d = v if isinstance(v, Decimal) else Decimal(str(v).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def decimals_of(step: Any) -> int | None:
    """How many decimals a step shows: "0.1" -> 1, "0.0001" -> 4, "0.5" -> 1, "1" or "5" -> 0; None when unknown."""
    d = to_decimal(step)
    if d is None or d <= 0:
        return None
    exp = d.normalize().as_tuple().exponent
    return max(0, -int(exp))


def _text(d: Decimal, places: int, group: bool = True) -> str:
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)  # no "-0.00"
    return format(q, ",f" if group else "f")


def _stepped(v: Any, step: Any, group: bool, down: bool = False) -> str:
    d = to_decimal(v)
    if d is None:
        return UNKNOWN
    places = decimals_of(step)
    if places is None:
        return fixed(d, FALLBACK_DECIMALS, trim=True, group=group)
    s = to_decimal(step)
    assert s is not None
    if down:  # toward zero, as exchanges (and ccxt's amount_to_precision) cut an order's amount to the lot
        d = (d / s).to_integral_value(rounding=ROUND_DOWN) * s
    elif s.normalize() != Decimal(1).scaleb(-places):  # a step like 0.5 or 5: round to its multiples first
        d = (d / s).to_integral_value(rounding=ROUND_HALF_UP) * s
    return _text(d, places, group)


def fixed(v: Any, places: int, trim: bool = False, group: bool = True) -> str:
    """`v` rounded to `places` decimals (half up); `trim` drops trailing zeros (and a bare ".")."""
    d = to_decimal(v)
    if d is None:
        return UNKNOWN
    out = _text(d, places, group)
    if trim and "." in out:
        out = out.rstrip("0").rstrip(".")
    return out


def price(v: Any, step: Any = None) -> str:
    """A price rounded to the market's tick (its decimals shown); bounded fallback without a tick."""
    return _stepped(v, step, group=True)


def amount(v: Any, step: Any = None, unit: str | None = None, *, down: bool = False) -> str:
    """An amount rounded to the market's lot, with its unit ("0.0008 BTC"); bounded fallback without a lot.
    `down`: an order's amount not yet sent, cut to the lot as the exchange will take it."""
    out = _stepped(v, step, group=True, down=down)
    return f"{out} {unit}" if unit and out != UNKNOWN else out


def money(v: Any, currency: str | None = None) -> str:
    """Money to 2 decimals, with its currency when known: "-12.02 USDT"."""
    out = fixed(v, MONEY_DECIMALS)
    return f"{out} {currency}" if currency and out != UNKNOWN else out


def pct(v: Any) -> str:
    """A percentage (already ×100) to 2 decimals: "12.35%"."""
    out = fixed(v, PCT_DECIMALS)
    return out if out == UNKNOWN else f"{out}%"


def plain(v: Any, places: int = FALLBACK_DECIMALS) -> str:
    """A number of no known kind: at most `places` decimals, trailing zeros dropped; integers as they are."""
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return fixed(v, places, trim=True)


@dataclass(frozen=True, slots=True)
class MarketNumbers:
    """One market's formatting: its tick, lot (in base units) and currencies. Unknown parts fall back."""

    base: str | None = None
    quote: str | None = None
    price_step: Decimal | None = None
    amount_step: Decimal | None = None

    @classmethod
    def from_info(cls, info: Any) -> MarketNumbers:
        """From a notification's `_market` (base, quote, price_step, amount_step); {} or None: the fallback."""
        if not isinstance(info, dict):
            return cls()
        return cls(base=_str(info.get("base")), quote=_str(info.get("quote")),
                   price_step=_step(info.get("price_step")), amount_step=_step(info.get("amount_step")))

    @classmethod
    def from_market(cls, m: Any) -> MarketNumbers:
        """From an engine Market in base units (what BaseUnits presents): its amount_step is a base-currency lot."""
        return cls(base=m.base, quote=m.quote, price_step=_step(m.price_step), amount_step=_step(m.amount_step))

    @property
    def max_decimals(self) -> int:
        """The most decimals any price or amount of this market shows."""
        p, a = decimals_of(self.price_step), decimals_of(self.amount_step)
        return max(FALLBACK_DECIMALS if p is None else p, FALLBACK_DECIMALS if a is None else a)

    def is_dust(self, v: Any) -> bool:
        """True when the amount rounds to nothing at the lot (less than half a lot): shown as flat, never as 0."""
        d = to_decimal(v)
        if d is None:
            return False
        half = (self.amount_step if self.amount_step is not None else Decimal(1).scaleb(-FALLBACK_DECIMALS)) / 2
        return abs(d) < half

    def price(self, v: Any) -> str:
        return price(v, self.price_step)

    def amount(self, v: Any, unit: bool = True, *, down: bool = False) -> str:
        return amount(v, self.amount_step, self.base if unit else None, down=down)

    def money(self, v: Any, unit: bool = True) -> str:
        return money(v, self.quote if unit else None)


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _step(v: Any) -> Decimal | None:
    d = to_decimal(v)
    return d if d is not None and d > 0 else None
