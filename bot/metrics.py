"""What the Telegram side counts for /metrics: updates and their latency, notifications sent or failed, 429s."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from prometheus_client import Counter, Histogram

UPDATES = Counter("tb_updates", "Telegram updates handled, by type and outcome", ["type", "outcome"])
UPDATE_SECONDS = Histogram("tb_update_seconds", "Time to handle one update",
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
NOTIFICATIONS = Counter("tb_notifications", "Outbox notifications by outcome (sent, retry, failed, dropped)",
                        ["outcome"])
TELEGRAM_429 = Counter("tb_telegram_429", "Telegram answers 'too many requests' (429)")


class UpdateMetrics(BaseMiddleware):
    """Outer middleware on updates: counts each one and times its handling."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        start = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "ok"
            return result
        finally:
            UPDATE_SECONDS.observe(time.perf_counter() - start)
            UPDATES.labels(kind, outcome).inc()
