"""Child process of tests/test_webhook.py: one webhook replica, the real dispatcher on the tests' FakeEngine.

    python -m tests.webhook_child NAME

Configured as production is, from the environment (BOT_TOKEN, TELEGRAM_API_URL, DATABASE_URL, REDIS_URL,
WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_HOST, WEBHOOK_PORT) and served by bot.webhook.serve_updates; plus
TB_FSM_PREFIX (the run's Redis keys) and TB_VAULT_KEY. Every update it finishes is appended to the Redis list
`<TB_FSM_PREFIX>:handled` as JSON {update_id, replica, start, end} (wall-clock seconds), so the test sees which
replica handled what, when, and how often.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from redis.asyncio import Redis

from bot.app import make_bot
from bot.dispatcher import POLLING_CONCURRENCY, build_dispatcher
from bot.webhook import serve_updates
from db.config import AppConfig
from db.database import connect, disconnect
from db.vault import Vault
from tests.fakes.telegram_fixtures import FakeEngine


class HandledLog:
    """An outer middleware (inside the FSM's per-user lock): records each update once its handlers returned."""

    def __init__(self, redis: Redis, key: str, replica: str):
        self.redis, self.key, self.replica = redis, key, replica

    async def __call__(self, handler, event, data):
        start = time.time()
        result = await handler(event, data)
        await self.redis.rpush(self.key, json.dumps({"update_id": event.update_id, "replica": self.replica,
                                                     "start": start, "end": time.time()}))
        return result


async def main(name: str) -> None:
    config = AppConfig()
    prefix = os.environ["TB_FSM_PREFIX"]
    await connect(config.DATABASE_URL, apply_migrations=False)
    redis = Redis.from_url(config.REDIS_URL)
    try:
        dp = build_dispatcher(vault=Vault([os.environ["TB_VAULT_KEY"]]),
                              engine=FakeEngine(prices={"BTC/USDT:USDT": 50_000.0}), redis_url=config.REDIS_URL,
                              fsm_prefix=prefix, throttle_rate=100.0, throttle_burst=200)
        dp.update.outer_middleware(HandledLog(redis, f"{prefix}:handled", name))
        await serve_updates(dp, make_bot(config), config, polling_concurrency=POLLING_CONCURRENCY)
    finally:
        await redis.aclose()
        await disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
