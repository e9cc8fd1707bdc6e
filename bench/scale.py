"""Candle-close cycle time of market jobs on 1, 2 and 4 worker processes, and of the one-process engine on the same
load: `python bench/scale.py` (PostgreSQL, NATS JetStream on 127.0.0.1:4222, the shared replay candles).

--bots paper bots (GRID, every --hyperrsi-th one HYPERRSI), each on its own paper account, spread over the markets
(BTC/USDT and ETH/USDT perpetuals on 1m, 5m, 15m and 1h: 8 markets, all closing together on the hour). They are
started once into a template database; every mode then runs on its own copy: --cycles hourly closes. The engine
(one process) runs engine.tick per close; a worker mode runs W `python -m engine.jobs.worker` processes and the
scheduler's CloseEmitter, a cycle lasting from the emit until the consumer has nothing pending or unacknowledged.
Printed per mode: each cycle's wall time, the jobs per cycle (= distinct (venue, symbol, timeframe)), and in one
process the candle requests the cycle made to the market source (replay fetch_ohlcv calls).
Options: --bots 400, --cycles 3, --workers 1,2,4, --concurrency 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import nats
from cryptography.fernet import Fernet

from db.database import connect, disconnect, migrate
from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from engine.jobs.broker import BrokerOptions, make_broker
from engine.jobs.emitter import CloseEmitter
from engine.jobs.tasks import register
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TB_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BASE = PG_ADMIN.rsplit("/", 1)[0]
NATS_URL = os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222")
DATA = Path(os.environ.get("TB_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()
HOUR = 3_600_000
MARKETS = [(s, tf) for s in ("BTC/USDT:USDT", "ETH/USDT:USDT") for tf in ("1m", "5m", "15m", "1h")]
HRSI = {"rsi_entry_option": "threshold", "rsi_oversold": 35, "rsi_overbought": 65, "entry_option": "rsi_only",
        "investment": 100, "leverage": 10, "use_sl": True, "sl_value": 2.0, "tp1_value": 0.3, "tp2_value": 0.6,
        "tp3_value": 1.0}


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_db(name: str, template: str | None = None) -> str:
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"{PG_BASE}/{name}"


def start_time() -> int:
    from engine.candles import load_csv

    ts = load_csv(DATA / "BTC_USDT-1m.csv").ts
    t = int(ts[0]) + 8 * 86_400_000
    return t - t % HOUR


async def build_template(name: str, bots: int, every_hyperrsi: int, start: int) -> None:
    from engine.candles import load_csv

    url = await fresh_db(name)
    await migrate(url)
    await connect(url, apply_migrations=False)
    user = await User.create(telegram_id=1)
    ids = []
    for i in range(bots):
        symbol, tf = MARKETS[i % len(MARKETS)]
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label=str(i),
                                           is_paper=True, paper_balances={"USDT": "100000"})
        if i % every_hyperrsi == 0:
            kind, settings = BotKind.HYPERRSI, {**HRSI, "timeframe": tf}
        else:
            c = load_csv(DATA / f"{symbol.split(':')[0].replace('/', '_')}-1m.csv")
            mid = float(c.close[c.ts.searchsorted(start)])
            kind, settings = BotKind.GRID, {"mode": "fixed", "direction": "long", "lower_price": round(mid * 0.97, 1),
                                            "upper_price": round(mid * 1.03, 1), "levels": 10, "investment": 2000,
                                            "leverage": 3, "tp_min_pct": 0.3, "timeframe": tf, "adx_gate": False}
        ids.append((await StrategyBot.create(user=user, account=acc, kind=kind, symbol=symbol, settings=settings,
                                             status=BotStatus.DRAFT)).id)
    engine = Engine(clock=ManualClock(start + 2_000), replay_dir=DATA)
    await engine.start(schedule=False)
    for bot_id in ids:
        await engine.control.start_bot(user.id, bot_id)
    await engine.shutdown()
    await disconnect()


async def one_process(url: str, closes: list[int]) -> list[tuple[float, int]]:
    await connect(url, apply_migrations=False)
    clock = ManualClock(closes[0] - HOUR)
    engine = Engine(clock=clock, replay_dir=DATA)
    await engine.start(schedule=False)
    calls = 0
    fetch = engine.replay.fetch_ohlcv

    async def counted(*a, **kw):
        nonlocal calls
        calls += 1
        return await fetch(*a, **kw)

    engine.replay.fetch_ohlcv = counted
    out = []
    for now in closes:
        clock.set(now)
        calls = 0
        t = time.perf_counter()
        await engine.tick()
        out.append((time.perf_counter() - t, calls))
    await engine.shutdown()
    await disconnect()
    return out


async def on_workers(url: str, closes: list[int], n: int, concurrency: int) -> list[tuple[float, int]]:
    await connect(url, apply_migrations=False)
    tag = uuid.uuid4().hex[:8]
    opts = BrokerOptions(stream=f"tb_bench_{tag}", subject=f"tb.bench.{tag}", durable=f"tb_bench_{tag}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "BROKER_URL": NATS_URL,
           "MARKET_REPLAY_DIR": str(DATA), "MASTER_KEY": Fernet.generate_key().decode(), "REDIS_URL": ""}
    procs = []
    for _ in range(n):
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine.jobs.worker", "--concurrency", str(concurrency), "--stream", opts.stream,
            "--subject", opts.subject, "--durable", opts.durable, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))
    scheduler = make_broker(NATS_URL, opts)
    emitter = CloseEmitter(register(scheduler))
    await scheduler.startup()
    js = scheduler.client.jetstream()
    await asyncio.sleep(8)  # the workers import numpy/numba and connect
    out = []
    try:
        for now in closes:
            t = time.perf_counter()
            jobs = await emitter.emit(now)
            while True:
                c = await js.consumer_info(opts.stream, opts.durable)
                if c.num_pending == 0 and c.num_ack_pending == 0:  # every job of the cycle acknowledged
                    break
                await asyncio.sleep(0.01)
            out.append((time.perf_counter() - t, len(jobs)))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            await p.wait()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(opts.stream)
        await scheduler.shutdown()
        await disconnect()
    return out


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bots", type=int, default=400)
    p.add_argument("--hyperrsi", type=int, default=4, help="every n-th bot is HYPERRSI")
    p.add_argument("--cycles", type=int, default=3)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--concurrency", type=int, default=2)
    a = p.parse_args()
    start = start_time()
    closes = [start + k * HOUR + 2_000 for k in range(1, a.cycles + 1)]
    base = f"tb_bench_scale_{os.getpid()}"
    t = time.perf_counter()
    await build_template(base, a.bots, a.hyperrsi, start)
    print(f"{a.bots} bots on {len(MARKETS)} markets started in {time.perf_counter() - t:.1f} s")
    try:
        copy = await fresh_db(base + "_1p", base)
        rows = await one_process(copy, closes)
        await admin(f'DROP DATABASE IF EXISTS "{base}_1p" WITH (FORCE)')
        print(f"one process:  cycles {', '.join(f'{s:.2f} s' for s, _ in rows)}; "
              f"candle requests per cycle {', '.join(str(c) for _, c in rows)}")
        for n in (int(x) for x in a.workers.split(",")):
            copy = await fresh_db(f"{base}_w{n}", base)
            rows = await on_workers(copy, closes, n, a.concurrency)
            await admin(f'DROP DATABASE IF EXISTS "{base}_w{n}" WITH (FORCE)')
            print(f"{n} worker(s): cycles {', '.join(f'{s:.2f} s' for s, _ in rows)}; "
                  f"jobs per cycle {', '.join(str(j) for _, j in rows)}")
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{base}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
