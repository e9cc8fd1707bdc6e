"""What a worker or scheduler process runs when BROKER_URL names a broker: the job consumer, the close emitter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.jobs.broker import BrokerOptions, make_broker, options_for
from engine.jobs.emitter import CloseEmitter, PeriodicEmitter
from engine.jobs.tasks import register
from engine.jobs.worker import attach, build_markets, serve
from engine.market.clock import Clock


async def serve_jobs(broker_url: str, stop: asyncio.Event, *, vault: Any = None, replay_dir: str | Path | None = None,
                     redis_url: str | None = None, concurrency: int = 4, options: BrokerOptions | None = None) -> None:
    """Market jobs from the broker's shared durable consumer until `stop`; running jobs finish first. With
    `redis_url`, the workers of the deployment share their candles there (one venue request per market and close)."""
    server, named = options_for(broker_url)
    options = options or named
    broker = make_broker(server, options)
    redis = None
    if redis_url:
        from redis.asyncio import from_url

        redis = from_url(redis_url)
    attach(broker, build_markets(vault=vault, replay_dir=replay_dir, redis=redis, namespace=f"tb:{options.stream}"))
    try:
        await serve(broker, concurrency=concurrency, stop=stop)
    finally:
        if redis is not None:
            await redis.aclose()


async def emit_closes(broker_url: str, stop: asyncio.Event, *, clock: Clock,
                      options: BrokerOptions | None = None) -> None:
    """Every candle close, one job per market; every 5 s, one supervision job per market; every 10 min, one
    reconciliation job: each under its idempotent id (a second scheduler adds nothing)."""
    server, named = options_for(broker_url)
    broker = make_broker(server, options or named)
    tasks = register(broker)
    await broker.startup()
    try:
        await asyncio.gather(CloseEmitter(tasks).run(clock, stop), PeriodicEmitter(tasks).run(clock, stop))
    finally:
        await broker.shutdown()
