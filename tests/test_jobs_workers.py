"""Market jobs on worker processes sharing one durable JetStream consumer (real NATS, real PostgreSQL): a worker
killed with SIGKILL in the middle of a job; its job goes to a survivor after ack_wait and completes; no order sent
twice, no fill booked twice, and the end state equals an uninterrupted run of the same jobs in one process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import sys
import time
import uuid

import nats
from cryptography.fernet import Fernet

from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, Fill, Notification, Order, StrategyBot, User
from engine.candles import timeframe_ms
from engine.jobs.broker import BrokerOptions, make_broker
from engine.jobs.emitter import CloseEmitter
from engine.jobs.tasks import register
from engine.jobs.worker import attach, build_markets
from tests.conftest import ROOT, migrated_database
from tests.runtime_kit import HYPERRSI_SETTINGS, day_start, grid_settings, price_range, start_through_control
from tests.test_jobs import NATS_URL, _outcome

CYCLES = 30  # 5m closes: 2.5 h of replayed market
ACK_WAIT_S = 20.0  # the production default (engine/jobs/broker.py)
BOTS = [(BotKind.HYPERRSI, "BTC/USDT:USDT", "5m"), (BotKind.GRID, "BTC/USDT:USDT", "5m"),
        (BotKind.HYPERRSI, "ETH/USDT:USDT", "5m"), (BotKind.GRID, "ETH/USDT:USDT", "5m"),
        (BotKind.GRID, "BTC/USDT:USDT", "15m"), (BotKind.GRID, "ETH/USDT:USDT", "15m")]


async def start_bots(data_dir, start: int) -> None:
    """BOTS, each on its own paper account, started at `start` + 2 s through the engine's Control."""
    user = await User.create(telegram_id=9)
    ids = []
    for kind, symbol, tf in BOTS:
        if kind == BotKind.GRID:
            lo, hi = price_range(data_dir, symbol.split(":")[0].replace("/", "_"), start, CYCLES * 5)
            settings = grid_settings(lo, hi, timeframe=tf, adx_gate=False)
        else:
            settings = {**HYPERRSI_SETTINGS, "timeframe": tf}
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP,
                                           label=f"{kind.value} {symbol} {tf}", is_paper=True,
                                           paper_balances={"USDT": "100000"})
        ids.append((await StrategyBot.create(user=user, account=acc, kind=kind, symbol=symbol, settings=settings,
                                             status=BotStatus.DRAFT)).id)
    await start_through_control(data_dir, start, user.id, ids)


class Worker:
    """One `python -m engine.jobs.worker` process; its log lines kept with the time they were read."""

    def __init__(self, n: int):
        self.n, self.lines, self.proc = n, [], None

    async def start(self, env: dict, opts: BrokerOptions) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine.jobs.worker", "--concurrency", "1", "--stream", opts.stream,
            "--subject", opts.subject, "--durable", opts.durable, "--ack-wait", str(opts.ack_wait_s),
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.proc.stderr:
            self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))

    def events(self, what: str) -> list[tuple[float, str]]:
        """(time read, job id) of each `job <id> <what>` line."""
        pat = re.compile(rf"job (\S+) {what}")
        return [(t, m.group(1)) for t, line in self.lines if (m := pat.search(line))]


async def until(cond, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not await cond():
        assert time.monotonic() < end, what
        await asyncio.sleep(0.02)


async def test_a_killed_workers_job_moves_to_a_survivor(db_templates, tmp_path, shared_data):
    step = timeframe_ms("5m")
    start = day_start(shared_data)
    start -= start % step
    closes = [start + k * step + 2_000 for k in range(1, CYCLES + 1)]

    async with migrated_database("postgres", db_templates, tmp_path, "ref"):  # the same jobs in one process, no kill
        await start_bots(shared_data, start)
        broker = make_broker(None)
        tasks = attach(broker, build_markets(replay_dir=shared_data))
        await broker.startup()
        emitter = CloseEmitter(tasks)
        for now in closes:
            assert await emitter.emit(now)
            await broker.wait_all()
        await broker.shutdown()
        reference = await _outcome()
    assert len(reference["fills"]) >= 20

    tag = uuid.uuid4().hex[:10]
    opts = BrokerOptions(stream=f"tb_test_{tag}", subject=f"tb.test.{tag}", durable=f"tb_test_{tag}",
                         ack_wait_s=ACK_WAIT_S)
    workers = [Worker(n) for n in range(3)]
    async with migrated_database("postgres", db_templates, tmp_path, "run") as url:
        await start_bots(shared_data, start)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "BROKER_URL": NATS_URL,
               "MARKET_REPLAY_DIR": str(shared_data), "MASTER_KEY": Fernet.generate_key().decode(), "REDIS_URL": ""}
        scheduler = make_broker(NATS_URL, opts)
        emitter = CloseEmitter(register(scheduler))
        await scheduler.startup()
        js = scheduler.client.jetstream()
        try:
            for w in workers:
                await w.start(env, opts)

            async def all_up():
                return all(any("worker up" in line for _, line in w.lines) for w in workers)

            async def cycle_done():
                c = await js.consumer_info(opts.stream, opts.durable)
                return c.num_pending == 0 and c.num_ack_pending == 0

            await until(all_up, 120, "workers did not come up")
            killed = victim_job = kill_t = None
            for k, now in enumerate(closes):
                jobs = await emitter.emit(now)
                assert jobs
                if killed is None and k >= 3:  # warm: every worker ran jobs; kill the first to start one of these
                    async def someone_started(jobs=jobs):
                        return any(j in jobs for w in workers for _, j in w.events("started"))

                    await until(someone_started, 60, "no job started")
                    killed, victim_job = next((w, j) for w in workers for _, j in w.events("started") if j in jobs)
                    await asyncio.sleep(random.uniform(0, 0.03))
                    killed.proc.send_signal(signal.SIGKILL)
                    kill_t = time.monotonic()
                    await killed.proc.wait()
                    if victim_job in [j for _, j in killed.events("done")]:
                        killed = None  # the job ended before the kill landed: try again on the next cycle
                        await until(cycle_done, 60, "cycle did not complete")
                        continue
                await until(cycle_done, ACK_WAIT_S * 3 + 60, f"cycle {k} did not complete")
            assert killed is not None, "no kill landed in the middle of a job"
            survivors = [w for w in workers if w is not killed]
            again = [(t, w.n) for w in survivors for t, j in w.events("started") if j == victim_job]
            done = [(t, w.n) for w in survivors for t, j in w.events("done") if j == victim_job]
            assert len(again) == 1 and len(done) == 1, (again, done)
            moved, finished = again[0][0] - kill_t, done[0][0] - kill_t
            print(f"\nkilled worker {killed.n} in job {victim_job}; redelivered to worker {again[0][1]} after "
                  f"{moved:.2f} s, done {finished:.2f} s after the kill (ack_wait {ACK_WAIT_S:.0f} s)")
            assert ACK_WAIT_S - 2 <= moved <= ACK_WAIT_S + 10
            ran = [j for w in survivors for _, j in w.events("done")]
            assert sorted(set(ran)) == sorted(ran), "a job ran twice on the survivors"
        finally:
            for w in workers:
                if w.proc.returncode is None:
                    w.proc.send_signal(signal.SIGTERM)
            for w in workers:
                await asyncio.wait_for(w.proc.wait(), 60)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(opts.stream)
            await scheduler.shutdown()
        run = await _outcome()
        fills = await Fill.all().values_list("account_id", "trade_id")
        assert len(fills) == len(set(fills)), "a fill booked twice"
        cids = await Order.all().values_list("client_order_id", flat=True)
        assert len(cids) == len(set(cids)), "an order sent twice"
        told = await Notification.filter(dedup_key__startswith="fill:").values_list("dedup_key", flat=True)
        assert sorted(told) == sorted(f"fill:{a}:{t}" for a, t in fills), "every fill told exactly once"
    for key in reference:
        assert run[key] == reference[key], key
