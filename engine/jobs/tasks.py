"""The jobs, registered on whichever broker runs them; each job's id makes a second kick of it a no-op."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from engine.jobs.broker import ACK_TYPE, MSG_ID, market_job_id

log = logging.getLogger(__name__)
MARKET_CLOSE = "tb.market_close"


@dataclass(frozen=True)
class JobTasks:
    broker: AsyncBroker
    market_close: AsyncTaskiqDecoratedTask

    async def kick_market_close(self, venue: str, symbol: str, tf: str, candle_ts: int) -> str:
        """Queues one market's candle close under its idempotent id; returns the id."""
        job_id = market_job_id(venue, symbol, tf, candle_ts)
        await self.market_close.kicker().with_task_id(job_id).with_labels(**{MSG_ID: job_id}).kiq(
            venue, symbol, tf, candle_ts)
        return job_id


def register(broker: AsyncBroker) -> JobTasks:
    """The tasks on `broker`; a worker puts its market runner (engine/jobs/markets.py) in `broker.state.markets`."""

    @broker.task(task_name=MARKET_CLOSE, ack_type=ACK_TYPE.value)
    async def market_close(venue: str, symbol: str, tf: str, candle_ts: int,
                           context: Annotated[Context, TaskiqDepends()]) -> dict[str, Any]:
        job_id, started = context.message.task_id, time.perf_counter()
        log.info("job %s started", job_id)
        done = await context.state.markets.close(venue, symbol, tf, candle_ts)
        log.info("job %s done in %.3f s: %s", job_id, time.perf_counter() - started, done)
        return done

    return JobTasks(broker, market_close)
