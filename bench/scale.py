"""Candle-close cycles of many paper bots on 1, 2 and 4 worker processes, and in one process on the same load:
`python bench/scale.py` (PostgreSQL, NATS JetStream on 127.0.0.1:4222, Redis on 127.0.0.1:6379 for the workers'
shared candles, the shared replay candles).

The load (bench/scale_parts/scale_world.py): --bots HYPERRSI bots on 15m over --symbols synthetic perpetuals
(BTC's candles scaled per symbol: one copy in memory however many symbols), --accounts paper accounts (each
account's bots on different symbols, its venue stored in the database), started into a template database that
every mode copies. One process: the Engine with every bot attached (in-process locks, as `make run`), engine.tick
per close. Workers: W processes of bench/scale_parts/scale_worker.py (the product's job consumer and FreshMarkets)
and the scheduler's CloseEmitter; a cycle lasts from the emit until the consumer has nothing pending or
unacknowledged. The busy run takes the quiet run's closes (scale_world.steady_closes: the last close's RSI lies
beyond every earlier one's), and its orders come from the market as a real busy close's do: on a fresh copy, --busy
of the bots (every k-th) are given an RSI threshold between the last close's RSI and the earlier ones'
(scale_world.busy_settings) before anything starts; the closes before the last are quiet, as are the workers'
handles as they keep them, and on the last each of those bots places a market order at once. Its extra time over
the quiet run's last cycle is the orders' own cost.
Each bot starts with --ring /why records (scale_world.past_decisions; by default one short of the ring's length),
so every close, the busy one too, handles full rings as a service that has run for a few hours does.

Printed per mode and cycle: wall time, CPU seconds of the processes doing the work (the engine's, or the workers'
together) and per bot, PostgreSQL's CPU (all its processes on this machine, on the same cores), the strategy's
candle requests (target: = distinct (venue, symbol, timeframe)) and the 1m requests feeding paper venues (a real
venue needs none), broker messages (jobs published and delivered), database round trips of the cycle (the
statements the engine or the workers sent to PostgreSQL, counted on their connections: bench/scale_parts/
pg_count.py), orders placed, peak RSS (the engine's, or the largest worker's), bots whose handle a worker
kept from its last job on their market, bots whose kept handle took the state and books another worker's job wrote
since (the market's last job ran there), and bots attached afresh (no handle kept for them, or their row changed
more: status, settings, position row); for the busy cycle orders/s over the whole cycle and over the orders' own
cost (target ≥ 1,000), and the orders' own CPU, ours and PostgreSQL's.
Options (defaults): --bots 10000 --symbols 200 --accounts 1000 --workers 1,2,4 --concurrency 4 --cycles 3
--busy 0.1 --ring 11 --pairs 1, and --no-one-process; the issue's size is --bots 100000 --symbols 2000 --accounts
10000. With --pairs N each mode runs N quiet and busy runs alternated, then their medians and ranges: one pair's
own cost moves by up to 3x on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "scale_parts"))

import asyncpg
import nats
from gc_time import GC_RUNS, GC_S, count_gc
from pg_count import SENT, count_statements
from redis.asyncio import from_url
from scale_world import (
    TF,
    ScaledReplay,
    fill_template,
    make_busy,
    markets,
    paper_factory,
    past_decisions,
    steady_closes,
    symbols,
)

from db.database import connect, disconnect, migrate
from db.models import Order
from engine.candles import timeframe_ms
from engine.jobs.broker import BrokerOptions, make_broker
from engine.jobs.emitter import CloseEmitter
from engine.jobs.tasks import register
from engine.kernel_cache import load_kernels
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from engine.runtime.state import DECISIONS

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TB_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BASE = PG_ADMIN.rsplit("/", 1)[0]
NATS_URL = os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")  # the workers' shared candles
STEP = timeframe_ms(TF)


async def admin(sql: str, *args):
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def fresh_db(name: str, template: str | None = None) -> str:
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"{PG_BASE}/{name}"


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def db_cpu_s() -> float:
    """CPU seconds of every PostgreSQL process on this machine so far (the server runs here; nothing else uses it
    during a run)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            head, rest = stat.read_text().rsplit(")", 1)
            if head.endswith("(postgres"):
                fields = rest.split()
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def first_close() -> int:
    from scale_world import DATA

    from engine.candles import load_csv

    t = int(load_csv(DATA / "BTC_USDT-1m.csv").ts[0]) + 14 * 86_400_000
    return t - t % STEP


class Cycle(dict):
    def line(self, bots: int) -> str:
        s = (f"{self['wall']:6.2f} s wall, CPU {self['cpu']:6.1f} s ({self['cpu'] / bots * 1e6:5.0f} µs/bot), "
             f"PostgreSQL CPU {self['db_cpu']:5.2f} s, "
             f"{TF} candle requests {self['requests']:,} for {self['markets']:,} markets "
             f"(+ {self['feed']:,} 1m requests feeding paper venues), "
             f"DB statements {self['statements']:,}, orders {self['orders']:,}")
        if "rss" in self:
            s += f", peak RSS {self['rss']:.0f} MB"
        if "gc" in self:
            s += f", garbage collector CPU {self['gc']:.2f} s ({self['full_gcs']:,} full collections)"
        if "published" in self:
            s += f", jobs published {self['published']:,} delivered {self['delivered']:,}"
            s += (f", bots kept from the worker's last job {self['adopted']:,}, kept and taken as another worker "
                  f"left them {self['renewed']:,}, attached afresh {self['attached']:,}")
        if self["orders"]:
            s += f" → {self['orders'] / self['wall']:,.0f} orders/s"
        return s


async def one_process(url: str, closes: list[int], n_symbols: int, busy: float = 0.0) -> tuple[float, list[Cycle]]:
    """The cycles at `closes`; with `busy`, that share of the bots is set (before start-up) to enter on the last
    close, from the market alone, and only the last cycle is returned."""
    await connect(url, apply_migrations=False)
    if busy:
        await make_busy(busy, closes)
    names = symbols(n_symbols)
    clock = ManualClock(closes[0] - STEP)
    replay = ScaledReplay(clock, names)
    engine = Engine(clock=clock, replay_source=replay, exchange_factory=paper_factory(replay, markets(names)),
                    shared_locks=False)  # as `make run`: one process, in-process locks
    t = time.perf_counter()
    await engine.start(schedule=False, settle=True)  # as `make run`
    startup = time.perf_counter() - t
    out = []
    for now in closes:
        clock.set(now)
        before = await Order.all().count()
        replay.requests.clear()
        t, c, d, sent = time.perf_counter(), time.process_time(), db_cpu_s(), SENT[0]
        gc_s, full = sum(GC_S), GC_RUNS[2]
        await engine.tick()
        wall, cpu, db_cpu = time.perf_counter() - t, time.process_time() - c, db_cpu_s() - d
        statements = SENT[0] - sent
        asked = {k: n for k, n in replay.requests.items() if k[1] == TF}
        out.append(Cycle(wall=wall, cpu=cpu, db_cpu=db_cpu, requests=sum(asked.values()), markets=len(asked),
                         feed=sum(replay.requests.values()) - sum(asked.values()), statements=statements,
                         orders=await Order.all().count() - before, rss=rss_mb(os.getpid()),
                         gc=sum(GC_S) - gc_s, full_gcs=GC_RUNS[2] - full))
    await engine.shutdown()
    await disconnect()
    return startup, out


async def on_workers(url: str, closes: list[int], n: int, concurrency: int, n_symbols: int,
                     busy: float = 0.0) -> list[Cycle]:
    """As one_process, on `n` worker processes."""
    await connect(url, apply_migrations=False)
    if busy:
        await make_busy(busy, closes)
    tag = uuid.uuid4().hex[:8]
    opts = BrokerOptions(stream=f"tb_bench_{tag}", subject=f"tb.bench.{tag}", durable=f"tb_bench_{tag}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "BROKER_URL": NATS_URL, "REDIS_URL": REDIS_URL}
    tmp = Path(tempfile.mkdtemp(prefix="tb_scale_"))
    stats = [tmp / f"w{i}.json" for i in range(n)]
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / "scale_parts" / "scale_worker.py"), "--concurrency", str(concurrency),
        "--stream", opts.stream, "--subject", opts.subject, "--durable", opts.durable, "--symbols", str(n_symbols),
        "--stats", str(f), cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL) for f in stats]
    scheduler = make_broker(NATS_URL, opts)
    emitter = CloseEmitter(register(scheduler))
    await scheduler.startup()
    js = scheduler.client.jetstream()
    out = []
    try:
        while not all(f.exists() for f in stats):
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)

        def totals() -> dict:
            got = [json.loads(f.read_text()) for f in stats]
            return {k: sum(g.get(k, 0) for g in got)
                    for k in (f"requests_{TF}", "requests_1m", "jobs", "bots", "attached", "adopted", "renewed",
                              "statements", "gc", "full_gcs")}

        for now in closes:
            before = (totals(), 0, await Order.all().count(), sum(cpu_s(p.pid) for p in procs),
                      await js.consumer_info(opts.stream, opts.durable))
            t, d = time.perf_counter(), db_cpu_s()
            jobs = await emitter.emit(now)
            while True:
                c = await js.consumer_info(opts.stream, opts.durable)
                if c.num_pending == 0 and c.num_ack_pending == 0:  # every job of the cycle acknowledged
                    break
                await asyncio.sleep(0.02)
            wall, db_cpu = time.perf_counter() - t, db_cpu_s() - d
            cpu = sum(cpu_s(p.pid) for p in procs) - before[3]
            after = totals()
            out.append(Cycle(wall=wall, cpu=cpu, db_cpu=db_cpu,
                             requests=after[f"requests_{TF}"] - before[0][f"requests_{TF}"],
                             feed=after["requests_1m"] - before[0]["requests_1m"],
                             markets=len(jobs), statements=after["statements"] - before[0]["statements"],
                             rss=max(rss_mb(p.pid) for p in procs),
                             orders=await Order.all().count() - before[2], published=len(jobs),
                             delivered=c.delivered.stream_seq - before[4].delivered.stream_seq,
                             bots=after["bots"] - before[0]["bots"],
                             attached=after["attached"] - before[0]["attached"],
                             adopted=after["adopted"] - before[0]["adopted"],
                             renewed=after["renewed"] - before[0]["renewed"], gc=after["gc"] - before[0]["gc"],
                             full_gcs=after["full_gcs"] - before[0]["full_gcs"]))
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in procs:
            await p.wait()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(opts.stream)
        redis = from_url(REDIS_URL)
        async for key in redis.scan_iter(f"tb:{opts.stream}:*"):  # this run's shared candles
            await redis.delete(key)
        await redis.aclose()
        await scheduler.shutdown()
        await disconnect()
    return out


async def quiet_and_busy(label: str, n: int, a: argparse.Namespace, base: str, closes: list[int]) -> dict | None:
    """One quiet run and one busy run of mode `n` (0: one process), each on a fresh copy of the template, printed;
    returns the busy cycle's figures and the orders' own cost (None when the busy run placed no order)."""
    quiet: dict[int, Cycle] = {}
    out = None
    for busy in (0.0, a.busy):
        copy = await fresh_db(f"{base}_run", base)
        if n == 0:
            startup, rows = await one_process(copy, closes, a.symbols, busy)
            print(f"{label}: start-up (attach every bot + reconcile) {startup:.1f} s")
        else:
            rows = await on_workers(copy, closes, n, a.concurrency, a.symbols, busy)
        if not busy:
            quiet = dict(enumerate(rows, 1))
            for k, row in quiet.items():
                print(f"{label}, cycle {k}: {row.line(a.bots)}", flush=True)
            continue
        row, n_busy = rows[-1], len(rows)
        early = sum(r["orders"] for r in rows[:-1])
        if early:  # busy_settings missed: the run measures something else
            print(f"{label}: the busy run's quiet closes placed {early:,} orders, none expected")
        print(f"{label}, busy cycle {n_busy} (after {n_busy - 1} quiet): {row.line(a.bots)}", flush=True)
        if n_busy in quiet and row["orders"]:
            base_row = quiet[n_busy]
            extra = row["wall"] - base_row["wall"]
            order_cpu = (row["cpu"] + row["db_cpu"] - base_row["cpu"] - base_row["db_cpu"]) / row["orders"]
            per_order = (row["statements"] - base_row["statements"]) / row["orders"]
            out = {"quiet": base_row["wall"], "busy": row["wall"], "whole": row["orders"] / row["wall"],
                   "own": row["orders"] / extra if extra > 0 else None, "cpu": order_cpu * 1e3}
            cost = f"the orders' own cost (busy cycle {n_busy} - quiet cycle {n_busy})"
            if extra <= 0:  # the orders cost less than the quiet cycle varies between two runs
                print(f"{label}, {cost}: {extra:.2f} s, within the run-to-run noise of the quiet cycle", flush=True)
            else:
                print(f"{label}, {cost}: {extra:.2f} s, {extra / row['orders'] * 1e3:.2f} ms per order, "
                      f"DB statements {per_order:.1f} per order, CPU (ours + PostgreSQL's) "
                      f"{order_cpu * 1e3:.2f} ms per order → {row['orders'] / extra:,.0f} orders/s", flush=True)
    return out


def summary(costs: list[dict]) -> str:
    """Medians and ranges over the pairs: one pair's own cost moves by up to 3x on a shared 2-core machine."""
    def span(key: str, fmt: str) -> str:
        vs = sorted(c[key] for c in costs if c[key] is not None)
        if not vs:
            return "-"
        return f"median {format(statistics.median(vs), fmt)} ({format(vs[0], fmt)}-{format(vs[-1], fmt)})"
    noisy = [c for c in costs if c["own"] is None]
    return (f"quiet last cycle {span('quiet', '.2f')} s, busy cycle {span('busy', '.2f')} s, orders/s over the "
            f"busy cycle {span('whole', ',.0f')}, over the orders' own cost {span('own', ',.0f')}"
            + (f" ({len(noisy)} pairs within the quiet cycle's noise)" if noisy else "")
            + f", the orders' own CPU (ours + PostgreSQL's) {span('cpu', '.2f')} ms per order")


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bots", type=int, default=10_000)
    p.add_argument("--symbols", type=int, default=200)
    p.add_argument("--accounts", type=int, default=1_000)
    p.add_argument("--cycles", type=int, default=3)  # the third: most markets ran on this worker before
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--busy", type=float, default=0.1)
    p.add_argument("--no-one-process", action="store_true")
    p.add_argument("--pairs", type=int, default=1)  # quiet and busy runs alternated, for medians
    p.add_argument("--ring", type=int, default=DECISIONS - 1)  # /why records each bot holds before the first close
    a = p.parse_args()
    load_kernels()
    count_statements()
    count_gc()
    # the busy run's orders come on its last close and on none before (scale_world.busy_settings)
    closes = steady_closes(first_close() + STEP + 2_000, a.cycles)
    base = f"tb_bench_scale_{os.getpid()}"
    t = time.perf_counter()
    url = await fresh_db(base)
    await migrate(url)
    await connect(url, apply_migrations=False)
    await fill_template(a.bots, a.symbols, a.accounts, past_decisions(a.ring, closes[0] - 2_000) if a.ring else None)
    await disconnect()
    conn = await asyncpg.connect(url)
    await conn.execute("ANALYZE")  # the planner's statistics, as autovacuum keeps them (copied with the template)
    await conn.close()
    print(f"{a.bots:,} HYPERRSI bots ({TF}) over {a.symbols:,} symbols and {a.accounts:,} paper accounts "
          f"written in {time.perf_counter() - t:.1f} s; cycles at {', '.join(str(c) for c in closes)}")
    modes: list[tuple[str, int]] = [("one process", 0)] if not a.no_one_process else []
    modes += [(f"{n} worker(s) x {a.concurrency} jobs", n) for n in (int(x) for x in a.workers.split(","))]
    try:
        for label, n in modes:
            costs = []
            for k in range(a.pairs):
                run = f"{label}, pair {k + 1}" if a.pairs > 1 else label
                cost = await quiet_and_busy(run, n, a, base, closes)
                if cost is not None:
                    costs.append(cost)
            if len(costs) > 1:
                print(f"{label}, {len(costs)} pairs: " + summary(costs), flush=True)
    finally:
        for name in (base, base + "_run"):
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
