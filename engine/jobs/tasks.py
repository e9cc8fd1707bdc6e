"""The jobs, registered on whichever broker runs them; each job's id makes a second kick of it a no-op."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from engine.candles import timeframe_ms
from engine.jobs.broker import ACK_TYPE, MSG_ID, market_job_id, reconcile_job_id, supervise_job_id
from engine.runtime.schedule import CLOSE_DELAY_S

log = logging.getLogger(__name__)
MARKET_CLOSE = "tb.market_close"
MARKET_SUPERVISE = "tb.market_supervise"
RECONCILE = "tb.reconcile"
SUPERVISE_INTERVAL_S = 5.0  # the one-process engine's grid_interval_s


@dataclass(frozen=True)
class JobTasks:
    broker: AsyncBroker
    market_close: AsyncTaskiqDecoratedTask
    market_supervise: AsyncTaskiqDecoratedTask
    reconcile: AsyncTaskiqDecoratedTask

    async def kick_market_close(self, venue: str, symbol: str, tf: str, candle_ts: int) -> str:
        """Queues one market's candle close under its idempotent id; returns the id."""
        return await _kick(self.market_close, market_job_id(venue, symbol, tf, candle_ts), venue, symbol, tf,
                           candle_ts)

    async def kick_market_supervise(self, venue: str, symbol: str, tf: str, bucket: int, now_ms: int) -> str:
        """Queues one market's supervision of interval `bucket` (`now_ms`: the scheduler's clock, which a
        replayed market's job runs at); returns the id."""
        return await _kick(self.market_supervise, supervise_job_id(venue, symbol, tf, bucket), venue, symbol, tf,
                           now_ms)

    async def kick_reconcile(self, bucket: int, now_ms: int) -> str:
        """Queues the periodic reconciliation of every active bot for interval `bucket`; returns the id."""
        return await _kick(self.reconcile, reconcile_job_id(bucket), now_ms)


async def _kick(task: AsyncTaskiqDecoratedTask, job_id: str, *args: Any) -> str:
    await task.kicker().with_task_id(job_id).with_labels(**{MSG_ID: job_id}).kiq(*args)
    return job_id


async def _logged(context: Context, work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The job run and logged; one that fails is given back to the broker for another try (every job is
    idempotent), where the broker can (JetStream; in this process the next tick covers it)."""
    job_id, started = context.message.task_id, time.perf_counter()
    log.info("job %s started", job_id)
    try:
        done = await work
    except Exception:
        log.exception("job %s failed", job_id)
        give_back = getattr(context.broker, "give_back", None)
        if give_back is not None:
            await give_back(job_id)
        raise
    log.info("job %s done in %.3f s: %s", job_id, time.perf_counter() - started, done)
    return done


def register(broker: AsyncBroker) -> JobTasks:
    """The tasks on `broker`; a worker puts its market runner (engine/jobs/markets.py) in `broker.state.markets`."""

    @broker.task(task_name=MARKET_CLOSE, ack_type=ACK_TYPE.value)
    async def market_close(venue: str, symbol: str, tf: str, candle_ts: int,
                           context: Annotated[Context, TaskiqDepends()]) -> dict[str, Any]:
        done = await _logged(context, context.state.markets.close(venue, symbol, tf, candle_ts))
        return await _follow_up(done, venue, symbol, tf, candle_ts + timeframe_ms(tf) + CLOSE_DELAY_S * 1000)

    @broker.task(task_name=MARKET_SUPERVISE, ack_type=ACK_TYPE.value)
    async def market_supervise(venue: str, symbol: str, tf: str, now_ms: int,
                               context: Annotated[Context, TaskiqDepends()]) -> dict[str, Any]:
        done = await _logged(context, context.state.markets.supervise(venue, symbol, tf, now_ms))
        return await _follow_up(done, venue, symbol, tf, now_ms)

    async def _follow_up(done: dict[str, Any], venue: str, symbol: str, tf: str, now_ms: int) -> dict[str, Any]:
        """The market's supervision of the next interval when a bot of the job still waits (engine/jobs/markets.py
        `_waiting`); under the interval's job id, so the scheduler's own kick of it adds nothing."""
        if done.get("again"):
            bucket = int(time.time() // SUPERVISE_INTERVAL_S) + 1
            try:
                await _kick(market_supervise, supervise_job_id(venue, symbol, tf, bucket), venue, symbol, tf,
                            now_ms + int(SUPERVISE_INTERVAL_S * 1000))
            except Exception:  # the scheduler's supervision, or the next close, takes it in later
                log.exception("the follow-up supervision of %s %s %s was not queued", venue, symbol, tf)
        return done

    @broker.task(task_name=RECONCILE, ack_type=ACK_TYPE.value)
    async def reconcile(now_ms: int, context: Annotated[Context, TaskiqDepends()]) -> dict[str, Any]:
        return await _logged(context, context.state.markets.reconcile(now_ms))

    return JobTasks(broker, market_close, market_supervise, reconcile)
