"""`python -m engine.jobs.worker [--concurrency N]`: one worker process taking market jobs from BROKER_URL's stream
(the durable consumer every worker shares), each acknowledged after it ran; SIGTERM lets running jobs finish."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from taskiq import AsyncBroker
from taskiq.receiver import Receiver

from db.config import AppConfig, ConfigError
from db.database import connect, disconnect
from db.vault import Vault, VaultError, load_master_keys
from engine.jobs.broker import ACK_TYPE, BrokerOptions, make_broker
from engine.jobs.markets import FreshMarkets, JobClock
from engine.jobs.tasks import JobTasks, register
from engine.market.candle_cache import CandleCache
from engine.market.candle_share import SharedCandles
from engine.market.clock import RealClock
from engine.market.replay import ReplaySource
from engine.runtime.heap import settle_heap
from engine.runtime.locks import SymbolLocks

log = logging.getLogger(__name__)
CANDLE_KEEP = 12_000  # as the Engine's cache: HYPERRSI's trend warms up on 9,000 candles
STOP_GRACE_S = 30.0  # how long a stopping worker waits for its running jobs (the rest are redelivered elsewhere)


def build_markets(*, vault: Any = None, replay_dir: Any = None, redis: Any = None,
                  namespace: str = "tb") -> FreshMarkets:
    """A worker's market runner: one candle cache and (replayed markets) one replay source for all its jobs; with
    `redis`, the candles shared with the other workers of the deployment `namespace` names."""
    clock = JobClock(RealClock())
    replay = ReplaySource(replay_dir, clock) if replay_dir is not None else None
    shared = SharedCandles(redis, namespace) if redis is not None else None
    candles = CandleCache({"replay": replay} if replay is not None else {}, clock, keep=CANDLE_KEEP, shared=shared)
    return FreshMarkets(candles, clock, SymbolLocks(redis), vault=vault, replay=replay)


def attach(broker: AsyncBroker, markets: FreshMarkets) -> JobTasks:
    tasks = register(broker)
    broker.state.markets = markets
    return tasks


async def serve(broker: AsyncBroker, *, concurrency: int = 4, stop: asyncio.Event | None = None) -> None:
    """Takes jobs until `stop` is set (or forever); at most `concurrency` at once, none fetched beyond that, so idle
    workers get the rest of a cycle's jobs. Once `stop` is set, no job is taken and the running ones finish (their
    transactions and acknowledgements before the broker and the database close), within `STOP_GRACE_S`."""
    await broker.startup()
    broker.is_worker_process = True
    try:
        with ThreadPoolExecutor(max_workers=1) as executor:
            receiver = Receiver(broker, executor, max_async_tasks=concurrency, max_prefetch=0, run_startup=False,
                                ack_type=ACK_TYPE, wait_tasks_timeout=STOP_GRACE_S)
            await receiver.listen(stop or asyncio.Event())
    finally:
        await broker.shutdown()


async def run(config: AppConfig, vault: Vault, concurrency: int, options: BrokerOptions) -> None:
    await connect(config.DATABASE_URL, apply_migrations=False)
    redis = None
    if config.REDIS_URL:
        from redis.asyncio import from_url

        redis = from_url(config.REDIS_URL)
    broker = make_broker(config.BROKER_URL, options)
    attach(broker, build_markets(vault=vault, replay_dir=config.MARKET_REPLAY_DIR, redis=redis,
                                 namespace=f"tb:{options.stream}"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    settle_heap()
    log.info("worker up: %s, concurrency %s", "NATS JetStream" if config.BROKER_URL else "in-process", concurrency)
    try:
        await serve(broker, concurrency=concurrency, stop=stop)
    finally:
        if redis is not None:
            await redis.aclose()
        await disconnect()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.jobs.worker")
    p.add_argument("--concurrency", type=int, default=4, help="jobs run at once by this process")
    p.add_argument("--stream", default=BrokerOptions.stream)
    p.add_argument("--subject", default=BrokerOptions.subject)
    p.add_argument("--durable", default=BrokerOptions.durable)
    p.add_argument("--ack-wait", type=float, default=BrokerOptions.ack_wait_s)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = AppConfig()
        if not config.BROKER_URL:
            raise ConfigError("A worker process needs BROKER_URL (nats://host:4222); unset, jobs run in the bot.")
        vault = Vault(load_master_keys(config))
    except (ConfigError, VaultError) as e:
        print(e, file=sys.stderr)
        return 2
    options = BrokerOptions(stream=args.stream, subject=args.subject, durable=args.durable, ack_wait_s=args.ack_wait)
    asyncio.run(run(config, vault, args.concurrency, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
