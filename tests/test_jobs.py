"""The job layer (engine/jobs): one market's candle close as a taskiq job with an idempotent id, in this process and
on the real NATS JetStream (a fresh stream per test); the same results as the one-process cycle."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import nats
import pytest

from engine.jobs.broker import MSG_ID, BrokerOptions, make_broker, market_job_id
from engine.jobs.worker import attach, build_markets, serve

NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture
async def stream_options():
    """A stream, subject and durable consumer of this test alone; the stream is deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    opts = BrokerOptions(stream=f"tb_test_{tag}", subject=f"tb.test.{tag}", durable=f"tb_test_{tag}", ack_wait_s=3)
    yield opts
    nc = await nats.connect(NATS_URL)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_stream(opts.stream)
    await nc.close()


async def until(cond, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


async def test_in_memory_job_kicked_twice_runs_once(db):
    broker = make_broker(None)
    markets = build_markets()
    tasks = attach(broker, markets)
    await broker.startup()
    ids = [await tasks.kick_market_close("paper:swap", "BTC/USDT:USDT", "5m", 1_700_000_000_000) for _ in range(2)]
    await broker.wait_all()
    assert ids == ["md:paper:swap:BTC/USDT:USDT:5m:1700000000000"] * 2
    assert markets.jobs == 1 and broker.duplicates == 1
    await tasks.kick_market_close("paper:swap", "BTC/USDT:USDT", "5m", 1_700_000_300_000)  # the next candle runs
    await broker.wait_all()
    assert markets.jobs == 2
    await broker.shutdown()


async def test_jetstream_drops_the_second_kick_of_a_job(db, stream_options):
    """The job id travels as the Nats-Msg-Id header (taskiq-nats sends labels as headers) and the stream drops the
    second publish; the one message left runs once on a worker and is acknowledged."""
    kicker = make_broker(NATS_URL, stream_options)
    tasks = attach(kicker, build_markets())
    await kicker.startup()
    for _ in range(2):
        await tasks.kick_market_close("paper:swap", "ETH/USDT:USDT", "1m", 1_700_000_040_000)
    assert kicker.duplicates == 1
    js = kicker.client.jetstream()
    info = await js.stream_info(stream_options.stream)
    assert info.state.messages == 1
    msg = await js.get_msg(stream_options.stream, seq=info.state.first_seq)
    assert msg.headers[MSG_ID] == market_job_id("paper:swap", "ETH/USDT:USDT", "1m", 1_700_000_040_000)

    worker = make_broker(NATS_URL, stream_options)
    markets = build_markets()
    attach(worker, markets)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(worker, concurrency=2, stop=stop))
    await until(lambda: markets.jobs == 1)
    await tasks.kick_market_close("paper:swap", "ETH/USDT:USDT", "1m", 1_700_000_040_000)  # a late third kick
    assert kicker.duplicates == 2
    await asyncio.sleep(0.5)
    assert markets.jobs == 1
    consumer = await js.consumer_info(stream_options.stream, stream_options.durable)
    assert consumer.num_ack_pending == 0 and consumer.num_pending == 0
    assert (await js.stream_info(stream_options.stream)).state.messages == 0  # acknowledged: gone (work queue)
    stop.set()
    await serving
    await kicker.shutdown()
