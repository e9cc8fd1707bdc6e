"""The one exchange protocol everything above `engine/exchange/` talks to, with its value types."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

# The same values are stored in the database: one definition for both.
from db.enums import MarketType, OrderType
from db.enums import OrderSide as Side

__all__ = ["MarketType", "OrderType", "Side"]  # re-exported for everything that talks to an exchange


class OrderStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # fully filled
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


@dataclass(frozen=True, slots=True)
class Market:
    """A tradable market with the precision and limits orders must respect."""

    symbol: str  # ccxt unified symbol: "BTC/USDT" (spot) or "BTC/USDT:USDT" (swap)
    base: str
    quote: str
    type: MarketType
    price_step: Decimal  # tick size
    amount_step: Decimal  # lot size, in `amount_unit`
    min_amount: Decimal | None = None  # in `amount_unit`
    min_cost: Decimal | None = None  # minimum notional in quote currency
    contract_size: Decimal = Decimal(1)  # base units per contract (swaps); 1 for spot
    max_leverage: int | None = None
    active: bool = True
    maker_fee: Decimal | None = None  # fee rates as fractions of notional (0.0002 = 0.02 %); None: not published
    taker_fee: Decimal | None = None
    # "contract": amounts of this market's orders, trades and positions count contracts (what a venue speaks);
    # "base": they are in the base currency (what engine/exchange/units.BaseUnits presents to everything above).
    amount_unit: str = "base"


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class PositionInfo:
    """An open swap position as the exchange reports it (one-way mode: side is the net direction)."""

    symbol: str
    side: Side  # BUY = long, SELL = short
    amount: Decimal  # in the market's amount_unit
    entry_price: Decimal
    mark_price: Decimal | None = None
    leverage: int | None = None
    liquidation_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    margin_mode: MarginMode | None = None


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    ts: int  # epoch ms


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal  # in the market's amount_unit
    client_order_id: str
    price: Decimal | None = None  # limit price
    trigger_price: Decimal | None = None  # stop orders
    reduce_only: bool = False
    post_only: bool = False


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """An order as the exchange knows it."""

    id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    amount: Decimal
    filled: Decimal
    price: Decimal | None = None
    average: Decimal | None = None
    trigger_price: Decimal | None = None
    reduce_only: bool = False
    fee: Decimal = Decimal(0)
    fee_currency: str | None = None
    ts: int | None = None  # epoch ms of creation

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


@dataclass(frozen=True, slots=True)
class Trade:
    """One execution of one of our orders; `id` is unique per account."""

    id: str
    order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str | None
    ts: int  # epoch ms
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """What registration learns about an API key."""

    valid: bool
    can_trade: bool
    can_withdraw: bool | None  # None: the exchange does not tell
    detail: str = ""


@dataclass(slots=True)
class TradesPage:
    trades: list[Trade] = field(default_factory=list)
    cursor: int | None = None  # pass back as `since` to continue


# ---- domain errors: each carries a reason key the chat can translate ----


class ExchangeError(Exception):
    """Base of every domain error raised by an exchange implementation; never carries a secret."""

    reason = "exchange_error"

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message or self.reason)
        self.retry_after = retry_after


class InvalidKey(ExchangeError):
    reason = "invalid_key"


class MissingPermission(ExchangeError):
    reason = "missing_permission"


class InsufficientFunds(ExchangeError):
    reason = "insufficient_funds"


class BelowMinimum(ExchangeError):
    reason = "below_minimum"


class MarketClosed(ExchangeError):
    reason = "market_closed"


class ExchangeUnavailable(ExchangeError):
    """Network-class trouble: timeouts, 5xx, rate limits, maintenance. Safe to retry reads."""

    reason = "exchange_unavailable"


class OrderNotFound(ExchangeError):
    reason = "order_not_found"


class InvalidOrder(ExchangeError):
    reason = "invalid_order"


class UnknownOutcome(ExchangeError):
    """A create whose answer was lost and could not be resolved yet: the order may or may not exist."""

    reason = "unknown_outcome"


@runtime_checkable
class Exchange(Protocol):
    """What the engine needs from an exchange; implemented by the ccxt gateway and the paper exchange."""

    exchange_id: str
    market_type: MarketType
    simulated: bool  # matches its orders on the 1m candles it is fed (paper); a real venue matches by itself

    async def feed(self, symbol: str, candle: list[float] | tuple) -> list[Trade]:
        """One closed 1m candle [ts, o, h, l, c, v] of `symbol`: a simulated exchange matches its resting orders
        on it and returns the trades; a real venue ignores it (returns [])."""
        ...

    async def load_markets(self) -> dict[str, Market]: ...

    async def market(self, symbol: str) -> Market: ...

    async def fetch_balance(self) -> dict[str, Balance]: ...

    async def fetch_positions(self, symbols: list[str] | None = None) -> list[PositionInfo]: ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...

    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    async def create_order(self, request: OrderRequest) -> OrderInfo: ...

    async def cancel_order(
        self, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderInfo: ...

    async def fetch_order(
        self, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderInfo: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderInfo]: ...

    async def fetch_my_trades(self, symbol: str, since: int | None = None, limit: int | None = None) -> TradesPage: ...

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None: ...

    async def check_key(self) -> KeyCheck: ...

    async def close(self) -> None: ...
