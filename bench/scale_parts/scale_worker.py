"""One worker process of bench/scale.py: `python bench/scale_parts/scale_worker.py --symbols N --stats FILE
[--concurrency C] --stream S --subject S --durable D` (DATABASE_URL, BROKER_URL and REDIS_URL, for the shared
candles, from the environment). The product's job consumer (engine/jobs/worker.serve) and market runner
(FreshMarkets) on the synthetic market; after each job it writes its counters (jobs, bots, market-data requests by
timeframe, statements sent to PostgreSQL, the garbage collector's CPU and full collections) to FILE as JSON. With
TB_SCALE_PROFILE=DIR, the jobs after the first close run under cProfile (its CPU time: the jobs overlap), dumped
to DIR on exit (while any runs)."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gc_time import GC_RUNS, GC_S, count_gc
from pg_count import SENT, count_statements
from redis.asyncio import from_url
from scale_world import ScaledReplay, markets, paper_factory, symbols

from db.database import connect, disconnect
from engine.jobs.broker import BrokerOptions, make_broker
from engine.jobs.markets import FreshMarkets, JobClock
from engine.jobs.worker import CANDLE_KEEP, attach, serve
from engine.kernel_cache import load_kernels
from engine.market.candle_cache import CandleCache
from engine.market.candle_share import SharedCandles
from engine.market.clock import RealClock
from engine.runtime.heap import settle_heap
from engine.runtime.locks import SymbolLocks


async def main(a: argparse.Namespace) -> None:
    load_kernels()
    count_statements()
    count_gc()
    await connect(os.environ["DATABASE_URL"], apply_migrations=False)
    names = symbols(a.symbols)
    clock = JobClock(RealClock())
    replay = ScaledReplay(clock, names)
    redis = from_url(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else None
    shared = SharedCandles(redis, f"tb:{a.stream}") if redis is not None else None  # as the product's workers
    candles = CandleCache({"replay": replay}, clock, keep=CANDLE_KEEP, shared=shared)
    fm = FreshMarkets(candles, clock, SymbolLocks(None), replay=replay, factory=paper_factory(replay, markets(names)))
    stats = {"jobs": 0, "bots": 0}
    close = fm.close
    profile_dir = os.environ.get("TB_SCALE_PROFILE")
    profile = cProfile.Profile(time.process_time) if profile_dir else None  # CPU: the jobs overlap
    running, first = [0], []  # timed jobs running (the profile is on while any is: they overlap); the first close

    async def counted(*args):
        first[:] = first or [args[3]]
        timed = profile is not None and args[3] > first[0]  # a job of a later close than the first
        if timed:
            running[0] += 1
            if running[0] == 1:
                profile.enable()
        try:
            out = await close(*args)
        finally:
            if timed:
                running[0] -= 1
                if running[0] == 0:
                    profile.disable()
        stats["jobs"] += 1
        stats["bots"] += out["bots"]
        stats["attached"], stats["adopted"], stats["renewed"] = fm.attached, fm.adopted, fm.renewed
        stats["statements"] = SENT[0]
        stats["gc"], stats["full_gcs"] = sum(GC_S), GC_RUNS[2]
        for (_, tf), n in replay.requests.items():  # candle requests by timeframe: the strategy's, paper's 1m
            stats[f"requests_{tf}"] = stats.get(f"requests_{tf}", 0) + n
        replay.requests.clear()
        Path(a.stats).write_text(json.dumps(stats))
        return out

    fm.close = counted
    opts = BrokerOptions(stream=a.stream, subject=a.subject, durable=a.durable)
    broker = make_broker(os.environ["BROKER_URL"], opts)
    attach(broker, fm)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    settle_heap()  # as engine/jobs/worker.py
    Path(a.stats).write_text(json.dumps(stats))  # ready
    try:
        await serve(broker, concurrency=a.concurrency, stop=stop)
    finally:
        if profile is not None:
            profile.dump_stats(Path(profile_dir) / f"{Path(a.stats).stem}-{os.getpid()}.prof")
        if redis is not None:
            await redis.aclose()
        await disconnect()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    for name in ("--stream", "--subject", "--durable", "--stats"):
        p.add_argument(name, required=True)
    p.add_argument("--symbols", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=4)
    asyncio.run(main(p.parse_args()))
