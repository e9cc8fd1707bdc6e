"""What a Telegram error means for delivery (sent, blocked, retry, failed), described without any secret."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
)

from bot.logging_setup import _TOKEN_SHAPE
from bot.pacing import FloodLimitExceeded


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot or deleted the account: stop writing to them
    RETRY = "retry"  # transient: try again later
    FAILED = "failed"  # permanent for this message


@dataclass(frozen=True, slots=True)
class Failure:
    outcome: Outcome
    error: str  # safe to store: class name and Telegram's description, with anything token-shaped removed


_DEACTIVATED = ("chat not found", "user is deactivated", "bot was blocked", "bot was kicked")


def classify(exc: BaseException, token: str | None = None) -> Failure:
    """What a Telegram error means for delivery, with a description safe for the database and logs."""
    text = exc.message if isinstance(exc, TelegramAPIError) else str(exc)
    text = _TOKEN_SHAPE.sub("<redacted>", text)
    if token:
        text = text.replace(token, "<redacted>")
    error = f"{type(exc).__name__}: {text}"[:500]
    lowered = text.lower()
    if isinstance(exc, TelegramForbiddenError):
        return Failure(Outcome.BLOCKED, error)
    if isinstance(exc, TelegramBadRequest | TelegramNotFound) and any(d in lowered for d in _DEACTIVATED):
        return Failure(Outcome.BLOCKED, error)
    if isinstance(exc, TelegramNetworkError | TelegramServerError | FloodLimitExceeded | TimeoutError | OSError):
        return Failure(Outcome.RETRY, error)
    if isinstance(exc, TelegramBadRequest | TelegramNotFound):
        return Failure(Outcome.FAILED, error)
    return Failure(Outcome.RETRY, error)
