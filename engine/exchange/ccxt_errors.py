"""ccxt exceptions mapped to the protocol's domain errors, with messages scrubbed of secrets and signed URLs."""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.exchange import protocol as p
from engine.exchange.ccxt_lazy import ccxt

_QUERY = re.compile(r"\?\S*")
_MIN_HINTS = ("51020", "filter failure: notional", "filter failure: min_notional", "min_notional",
              "minimum amount", "less than the minimum", "below the minimum", "too small",
              "lower than the minimum", "minimum order value", "110094", "170136", "170140",  # Bybit
              "45110", "minimum trading", "under_min_total")  # Bitget, Upbit
_DUPLICATE_HINTS = ("51016", "duplicate", "duplicated")
_DUPLICATE_CODES = ("40786",)  # Bitget "Duplicate clientOid", which ccxt leaves a plain ExchangeError


def scrub(message: str, secrets: Iterable[str | None], limit: int = 300) -> str:
    """Remove query strings (signatures, timestamps) and any secret value from a message, then shorten it."""
    out = _QUERY.sub("?…", message)
    for s in secrets:
        if s and len(s) >= 4:
            out = out.replace(s, "***")
    return out if len(out) <= limit else out[: limit - 1] + "…"


def is_duplicate_id(e: BaseException) -> bool:
    text = str(e).lower()
    if isinstance(e, ccxt.InvalidOrder | ccxt.DuplicateOrderId):
        return any(h in text for h in _DUPLICATE_HINTS)
    return isinstance(e, ccxt.ExchangeError) and any(c in text for c in _DUPLICATE_CODES)


def to_domain(e: BaseException, exchange_id: str, secrets: Iterable[str | None] = (),
              retry_after: float | None = None) -> p.ExchangeError:
    """The domain error for a ccxt exception (or a domain error unchanged); its message never holds a secret."""
    if isinstance(e, p.ExchangeError):
        return e
    detail = scrub(str(e), secrets)
    text = detail.lower()
    kind: type[p.ExchangeError]
    if isinstance(e, ccxt.PermissionDenied | ccxt.AccountNotEnabled):
        kind = p.MissingPermission
    elif isinstance(e, ccxt.AuthenticationError):  # includes a wrong signature or passphrase
        kind = p.InvalidKey
    elif isinstance(e, ccxt.InsufficientFunds):
        kind = p.InsufficientFunds
    elif isinstance(e, ccxt.OrderNotFound):
        kind = p.OrderNotFound
    elif isinstance(e, ccxt.MarketClosed):
        kind = p.MarketClosed
    elif isinstance(e, ccxt.NetworkError):
        kind = p.ExchangeUnavailable
    elif any(h in text for h in _MIN_HINTS):
        kind = p.BelowMinimum
    elif is_duplicate_id(e) or isinstance(e, ccxt.InvalidOrder | ccxt.BadRequest | ccxt.BadSymbol | ccxt.NotSupported):
        kind = p.InvalidOrder
    else:
        kind = p.ExchangeError
    return kind(f"{exchange_id}: {kind.reason}: {type(e).__name__}: {detail}", retry_after=retry_after)
