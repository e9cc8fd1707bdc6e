"""Enumerations stored in the database (values are stable strings; never rename one in place)."""

from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class MarketType(StrEnum):
    SPOT = "spot"
    SWAP = "swap"


class BotKind(StrEnum):
    HYPERRSI = "hyperrsi"
    GRID = "grid"


class BotStatus(StrEnum):
    DRAFT = "draft"  # configured, never started
    RUNNING = "running"
    PAUSED = "paused"  # no new entries; resting orders and protection stay
    STOPPING = "stopping"
    STOPPED = "stopped"
    ERROR = "error"


class OrderRole(StrEnum):
    ENTRY = "entry"
    PYRAMID = "pyramid"
    TAKE_PROFIT = "tp"
    STOP_LOSS = "sl"
    TRAILING = "trailing"
    CLOSE = "close"
    GRID_ENTRY = "grid_entry"
    GRID_EXIT = "grid_exit"


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"


class OrderStatus(StrEnum):
    PENDING = "pending"  # row written, not yet sent
    OPEN = "open"
    CLOSED = "closed"  # fully filled
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # sent, answer lost: to be resolved by client order id


class PositionSide(StrEnum):
    FLAT = "flat"
    LONG = "long"
    SHORT = "short"


class LevelState(StrEnum):
    IDLE = "idle"
    ENTRY_PLACED = "entry_placed"
    ENTRY_FILLED = "entry_filled"
    EXIT_PLACED = "exit_placed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Delivery(StrEnum):
    """Where a PENDING notification held by a notifier is (`Notification.delivery`; null when none holds it)."""

    QUEUED = "queued"  # claimed, waiting for its turn: never reached Telegram
    SENDING = "sending"  # handed to Telegram: it may have arrived if the process died now


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after retries
    DROPPED = "dropped"  # not sent on purpose: the user blocked the bot, or below their notification level


class NotifyLevel(StrEnum):
    """How much of their bots' trading a user is told (`User.notify_level`); warnings, errors and stops always."""

    ALL = "all"  # every fill
    TRADES = "trades"  # entries, take-profits, stop-losses and closes: no grid rung fills, no add-on entries
    DAILY = "daily"  # no fills: one summary after each UTC day
