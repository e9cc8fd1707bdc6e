"""Through the real AsyncIOScheduler: replayed time drives the jobs; shutdown waits for the job in flight."""

from __future__ import annotations

import asyncio

from db.enums import BotStatus
from db.models import Fill, Order, StrategyBot
from engine.runtime.engine import Engine
from tests.runtime_kit import assert_consistent, day_start, make_bots


async def test_jobs_run_on_the_scheduler_and_shutdown_finishes_in_flight_work(db, shared_data):
    start = day_start(shared_data)
    _, (hrsi, grid) = await make_bots(shared_data, start)
    for b in (hrsi, grid):
        await StrategyBot.filter(id=b.id).update(status=BotStatus.RUNNING)
    # 1200 replayed seconds per second: one replayed minute every 50 ms of wall time
    engine = Engine(replay_dir=shared_data, replay_speed=1200, replay_start_ms=start + 2_000, grid_interval_s=0.2)
    await engine.start()
    jobs = {j.id: j for j in engine.scheduler.get_jobs()}
    assert set(jobs) == {"tick", "supervise", "reconcile"}
    assert all(j.max_instances == 1 and j.coalesce for j in jobs.values())
    await asyncio.sleep(6)  # ~2 replayed hours

    # a slow job is in flight when SIGTERM arrives: shutdown waits for it and then takes no new work
    finished = asyncio.Event()

    async def slow():
        await asyncio.sleep(0.3)
        await engine.tick()
        finished.set()

    task = asyncio.create_task(engine.jobs.guard(slow))
    await asyncio.sleep(0.05)
    await engine.shutdown()
    assert finished.is_set() and task.done()
    assert not engine.scheduler.running
    gh = engine.handles[grid.id]
    assert (gh.rt.candle or 0) >= start + 60 * 60_000, "candle closes were processed by the jobs"
    assert await Order.filter(bot_id=grid.id).count() > 0
    before = await Fill.all().count(), await Order.all().count()
    await asyncio.sleep(0.3)
    assert (await Fill.all().count(), await Order.all().count()) == before, "no work after shutdown"
    await assert_consistent(engine.exchanges)
