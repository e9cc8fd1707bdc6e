"""A bot's books as an exchange keeps them: net position at average cost, realised PnL (before fees) and fees.

Every fill is booked here in exactly one way, whatever the strategy thinks of it: what reduces the net position
realises (price - average) x amount on it, what adds to it moves the average, what flips it opens the rest at the
fill's price. So the account's balance changes by exactly the sum of realised PnL minus the sum of fees, and the
position is the sum of the signed fills. Amounts are in the base currency, money in the quote currency.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
STORED = Decimal("1e-18")  # the Position row's 18 decimals: the books in memory are what a restart reads back


def _stored(x: Decimal) -> Decimal:
    return x.quantize(STORED, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Book:
    position: Decimal = ZERO  # signed: long > 0
    average: Decimal = ZERO  # average entry of the open position; 0 when flat
    realized: Decimal = ZERO  # before fees
    fees: Decimal = ZERO

    @property
    def side(self) -> str:
        return "long" if self.position > 0 else "short" if self.position < 0 else "flat"


def book_fill(book: Book, side: str, amount: Decimal, price: Decimal, fee: Decimal,
              lot: Decimal = ZERO) -> tuple[Book, Decimal]:
    """The books after one fill ("buy" / "sell"), and the PnL it realised. Less than half a lot left is flat."""
    delta = amount if side == "buy" else -amount
    pos, avg = book.position, book.average
    fees = book.fees + fee
    if pos == 0 or (pos > 0) == (delta > 0):
        new = pos + delta
        average = _stored((avg * abs(pos) + price * amount) / abs(new))
        return replace(book, position=new, average=average, fees=_stored(fees)), ZERO
    closed = min(amount, abs(pos))
    pnl = _stored((price - avg) * closed * (1 if pos > 0 else -1))
    new = pos + delta
    if abs(new) * 2 < lot or new == 0:
        new, avg = ZERO, ZERO
    elif (new > 0) != (pos > 0):  # flipped: the rest opened at this price
        avg = price
    return replace(book, position=new, average=avg, realized=book.realized + pnl, fees=_stored(fees)), pnl


def flat(book: Book) -> Book:
    """The position is gone outside the bot (liquidated, closed by hand): flat, its close unknown, so not booked."""
    return replace(book, position=ZERO, average=ZERO)
