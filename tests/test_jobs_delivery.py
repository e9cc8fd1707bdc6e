"""What JetStream does with a job while it runs and when it fails (engine/jobs/broker.py): a job longer than
`ack_wait` is kept in progress and runs once; a job that raises is given back and runs again, on real NATS."""

from __future__ import annotations

import asyncio
import contextlib

from engine.jobs.broker import make_broker
from engine.jobs.worker import attach, serve
from tests.test_jobs import NATS_URL, until


class Markets:
    """A stand-in for a worker's market runner: each close takes `run_s`, the first `failures` of them raise."""

    def __init__(self, run_s: float = 0.0, failures: int = 0):
        self.run_s, self.failures, self.calls, self.done = run_s, failures, 0, 0

    async def close(self, venue: str, symbol: str, tf: str, candle_ts: int) -> dict:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("the database went away")
        await asyncio.sleep(self.run_s)
        self.done += 1
        return {"bots": 0}


@contextlib.asynccontextmanager
async def _two_workers(options, markets: Markets):
    """A kicker, and two workers on the stream's shared consumer (each with its own connection) running `markets`;
    yields the kicker's tasks, and a function telling (pending, unacknowledged) jobs of the consumer."""
    kicker = make_broker(NATS_URL, options)
    tasks = attach(kicker, Markets())
    await kicker.startup()
    stop, workers = asyncio.Event(), []
    for _ in range(2):
        broker = make_broker(NATS_URL, options)
        broker.retry_delay_s = 0.5
        attach(broker, markets)
        workers.append(asyncio.create_task(serve(broker, concurrency=2, stop=stop)))

    async def pending() -> tuple[int, int]:
        info = await kicker.client.jetstream().consumer_info(options.stream, options.durable)
        return info.num_pending, info.num_ack_pending

    try:
        yield tasks, pending
    finally:
        stop.set()
        await asyncio.gather(*workers)
        await kicker.shutdown()


async def test_a_job_longer_than_ack_wait_runs_once(stream_options):
    """ack_wait is 3 s here; the job runs 8 s beside an idle second worker: told in progress, it is never handed
    over while it runs."""
    markets = Markets(run_s=8.0)
    async with _two_workers(stream_options, markets) as (tasks, pending):
        await tasks.kick_market_close("paper:swap", "BTC/USDT:USDT", "1m", 1_700_000_000_000)
        await until(lambda: markets.done == 1, timeout=30)
        await asyncio.sleep(1)
        assert markets.calls == 1
        assert await pending() == (0, 0)


async def test_a_job_that_fails_runs_again(stream_options):
    """The first two runs raise; the job is given back each time and the third run does it; then nothing is left
    in the stream."""
    markets = Markets(failures=2)
    async with _two_workers(stream_options, markets) as (tasks, pending):
        await tasks.kick_market_close("paper:swap", "BTC/USDT:USDT", "1m", 1_700_000_000_000)
        await until(lambda: markets.done == 1, timeout=15)  # ack_wait is 3 s: given back, not waited out
        assert markets.calls == 3
        await asyncio.sleep(0.5)
        assert await pending() == (0, 0)
