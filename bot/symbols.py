"""Markets as people say them ("BTC/USDT perpetual", "ETH/USDT spot"), and back from what they type."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.utils.i18n import gettext as chat_gettext

from db.enums import MarketType

HEARD = ("perpetual", "perp", "swap", "spot", "무기한", "선물", "현물")  # market words a typed symbol may carry


def say(symbol: str, market_type: MarketType | str | None = None, *,
        gettext: Callable[[str], str] = chat_gettext) -> str:
    """`symbol` in ccxt's notation as people say it: "BTC/USDT:USDT" → "BTC/USDT perpetual", "ETH/USDT" →
    "ETH/USDT spot", in the chat's language (`gettext` translates where no chat context is set, as in the
    notifier). The market type is read from the notation (a settle currency after ':' is a derivative) unless
    given; a dated future or an unknown notation is shown as it is."""
    pair, _sep, settle = symbol.partition(":")
    if "/" not in pair or "-" in settle:
        return symbol
    swap = MarketType(market_type) == MarketType.SWAP if market_type is not None else bool(settle)
    text = f"{pair} {gettext('symbol.perpetual') if swap else gettext('symbol.spot')}"
    if settle and settle != pair.split("/", 1)[1]:  # an inverse perpetual, margined in the coin: say which
        text += f" ({settle})"
    return text


def heard(text: str) -> str:
    """What the user typed without a market word ("BTC/USDT perpetual" → "BTC/USDT"): the account already says
    which market it trades."""
    return " ".join(w for w in text.split() if w.lower() not in HEARD)
