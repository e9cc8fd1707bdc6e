"""The taskiq broker named by BROKER_URL: unset → in this process; nats://… → a JetStream stream with one durable
pull consumer that every worker shares, each job acknowledged only after it ran."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StreamConfig
from taskiq import AckableMessage, AsyncBroker, BrokerMessage, InMemoryBroker
from taskiq.acks import AcknowledgeType
from taskiq_nats import PullBasedJetStreamBroker

log = logging.getLogger(__name__)
MSG_ID = "Nats-Msg-Id"  # JetStream's de-duplication header; taskiq-nats sends a message's labels as its headers


@dataclass(frozen=True)
class BrokerOptions:
    stream: str = "tb_jobs"
    subject: str = "tb.jobs"
    durable: str = "tb_workers"  # one consumer shared by every worker: each job goes to one of them
    ack_wait_s: float = 20.0  # a job unacknowledged this long (its worker died) goes to another worker
    max_deliver: int = 5  # deliveries of one job before JetStream gives up on it
    dedup_window_s: float = 600.0  # a job id seen within this window is dropped by the stream
    max_ack_pending: int = 1000


def options_for(url: str | None) -> tuple[str | None, BrokerOptions]:
    """The server URL and the options BROKER_URL names: a path (`nats://host:4222/blue`) names a deployment, whose
    stream, subject and consumer are its own (blue_jobs, blue.jobs, blue_workers); none: tb_jobs, tb.jobs, ..."""
    if not url:
        return url, BrokerOptions()
    parts = urlsplit(url)
    name = parts.path.strip("/")
    if not name:
        return url, BrokerOptions()
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError("BROKER_URL's path names a deployment: letters, digits, - and _ only")
    server = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return server, BrokerOptions(stream=f"{name}_jobs", subject=f"{name}.jobs", durable=f"{name}_workers")


ACK_TYPE = AcknowledgeType.WHEN_EXECUTED  # no result backend: executed is when the job's transactions committed


def market_job_id(venue: str, symbol: str, tf: str, candle_ts: int) -> str:
    """The idempotent id of one market's candle close: kicked twice (two schedulers, a restart), it runs once."""
    return f"md:{venue}:{symbol}:{tf}:{candle_ts}"


def supervise_job_id(venue: str, symbol: str, tf: str, bucket: int) -> str:
    """The idempotent id of one market's supervision in the interval `bucket` (= wall seconds // interval)."""
    return f"sv:{venue}:{symbol}:{tf}:{bucket}"


def reconcile_job_id(bucket: int) -> str:
    """The idempotent id of the periodic reconciliation of every active bot in the interval `bucket`."""
    return f"rc:{bucket}"


class DedupInMemoryBroker(InMemoryBroker):
    """The one-process broker, dropping a job whose id it saw within the window, as the JetStream stream does."""

    def __init__(self, window_s: float = 600.0, **kw):
        super().__init__(**kw)
        self.window_s = window_s
        self.seen: dict[str, float] = {}
        self.duplicates = 0

    async def kick(self, message: BrokerMessage) -> None:
        job_id = message.labels.get(MSG_ID)
        if job_id is not None:
            now = time.monotonic()
            if len(self.seen) > 10_000:
                self.seen = {k: t for k, t in self.seen.items() if now - t < self.window_s}
            seen = self.seen.get(job_id)
            if seen is not None and now - seen < self.window_s:
                self.duplicates += 1
                return
            self.seen[job_id] = now
        await super().kick(message)


class Delivery:
    """One JetStream delivery a worker is running: kept in progress (JetStream's ack timer reset every
    `every_s`) until it is acknowledged or given back, so a job longer than `ack_wait` is not handed to another
    worker while it runs; a dead worker stops the beat and its job moves on after `ack_wait`."""

    def __init__(self, msg: Msg, every_s: float):
        self.msg, self.done = msg, False
        self.beat = asyncio.create_task(self._beat(every_s))

    async def _beat(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.msg.in_progress()
            except Exception as e:  # the connection is back soon, or the job is redelivered: both are safe
                log.warning("job still running, not told to JetStream (%s)", type(e).__name__)

    async def ack(self) -> None:
        if not self.done:
            self.done = True
            self.beat.cancel()
            await self.msg.ack()

    async def give_back(self, delay_s: float) -> None:
        """The job failed: JetStream delivers it again after `delay_s` (to any worker), up to `max_deliver`."""
        if not self.done:
            self.done = True
            self.beat.cancel()
            await self.msg.nak(delay=delay_s)


class JetStreamBroker(PullBasedJetStreamBroker):
    """taskiq-nats' pull broker, counting the publishes JetStream answered as duplicates (its `PubAck.duplicate`),
    keeping each running job's delivery in progress, and giving a failed job back for another try."""

    duplicates = 0
    progress_s = 5.0  # how often a running job tells JetStream it is still being worked on (below ack_wait)
    retry_delay_s = 5.0  # how long a failed job waits before its next delivery

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.deliveries: dict[str, Delivery] = {}  # the running jobs' deliveries, by job id

    async def kick(self, message: BrokerMessage) -> None:
        ack = await self.js.publish(self.subject, payload=message.message, headers=message.labels)
        if ack.duplicate:
            self.duplicates += 1

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        """As taskiq-nats' `listen`, each delivery kept in progress until the receiver acknowledges it."""
        while True:
            try:
                msgs = await self.consumer.fetch(batch=self.pull_consume_batch, timeout=self.pull_consume_timeout)
            except NatsTimeoutError:
                continue
            for msg in msgs:
                job_id = (msg.headers or {}).get(MSG_ID, "")
                delivery = self.deliveries[job_id] = Delivery(msg, self.progress_s)
                yield AckableMessage(data=msg.data, ack=functools.partial(self._acknowledged, job_id, delivery))

    async def _acknowledged(self, job_id: str, delivery: Delivery) -> None:
        if self.deliveries.get(job_id) is delivery:
            del self.deliveries[job_id]
        await delivery.ack()

    async def shutdown(self) -> None:
        for delivery in self.deliveries.values():  # jobs cut short by the stop: JetStream redelivers them
            delivery.beat.cancel()
        await super().shutdown()

    async def give_back(self, job_id: str) -> None:
        """The running job `job_id` failed: delivered again after `retry_delay_s` (its acknowledgement then does
        nothing)."""
        delivery = self.deliveries.pop(job_id, None)
        if delivery is not None:
            await delivery.give_back(self.retry_delay_s)


def make_broker(url: str | None, options: BrokerOptions | None = None) -> AsyncBroker:
    """InMemoryBroker without a URL; the JetStream broker for nats:// (the stream and its consumer made if missing)."""
    o = options or BrokerOptions()
    if not url:
        return DedupInMemoryBroker(o.dedup_window_s)
    if not url.startswith(("nats://", "tls://")):
        raise ValueError("BROKER_URL must be a nats:// URL (or unset for in-process jobs)")
    stream = StreamConfig(name=o.stream, subjects=[o.subject], retention=RetentionPolicy.WORK_QUEUE,
                          duplicate_window=o.dedup_window_s)
    consumer = ConsumerConfig(durable_name=o.durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=o.ack_wait_s,
                              max_deliver=o.max_deliver, deliver_policy=DeliverPolicy.ALL,
                              filter_subject=o.subject, max_ack_pending=o.max_ack_pending)
    broker = JetStreamBroker(url, subject=o.subject, stream_name=o.stream, durable=o.durable, stream_config=stream,
                             consumer_config=consumer, pull_consume_batch=1, pull_consume_timeout=2.0,
                             name="tradingboost-jobs", max_reconnect_attempts=-1)
    broker.progress_s = min(JetStreamBroker.progress_s, o.ack_wait_s / 4)
    return broker
