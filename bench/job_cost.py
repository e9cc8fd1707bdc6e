"""CPU a bot of a quiet candle close run as market jobs against the Engine's own tick on the same world, the anchor
of the same run: `python bench/job_cost.py [--bots 2000 --symbols 40 --accounts 200 --rounds 3]` (PostgreSQL, the
shared replay candles; no broker, no Redis).

The jobs are the workers' (engine/jobs/markets.FreshMarkets), run one at a time in this process, so what they cost
beyond the Engine is the job's own work and not the broker's, nor the other processes' share of the cores. Each round
takes fresh copies of one world (bench/scale_parts/scale_world.py, as bench/scale.py) and measures:
- the Engine: its second close (every bot attached at start-up, its venues fed by the close before);
- one worker: its second close, every market's handles kept from its first;
- the close after another worker ran the market: worker A runs the first close, worker B the second, A the third,
  its kept handles taking what B stored (`_Kept.renew`); and the same with that turned off, the bots attached
  afresh as before it.
Printed: CPU µs a bot (median of the rounds), the jobs' phases (the paper feed, the supervision, the bots' evaluation
and decisions' write, the locks taken and given back, the keys and rows read, the kept venues' versions read, the
kept handles checked against the rows, and the rest: taking up the bots, the job's end) and statements sent to
PostgreSQL per close. Each bot starts with a ring of /why decisions one short of full (scale_world.past_decisions),
as a bot that has run for hours has it. The process's collector is set as the product's long-running processes set
theirs (engine/runtime/heap.settle_heap)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "scale_parts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_count import SENT, count_statements
from scale import STEP, admin, first_close, fresh_db
from scale_world import ScaledReplay, fill_template, markets, paper_factory, past_decisions, symbols

from db.database import connect, disconnect, migrate
from engine.exchange.paper_store import PaperStore
from engine.jobs import markets as jobs
from engine.kernel_cache import load_kernels
from engine.market.candle_cache import CandleCache
from engine.market.clock import ManualClock, RealClock
from engine.runtime.cycle import CandleCycle
from engine.runtime.engine import Engine
from engine.runtime.heap import settle_heap
from engine.runtime.locks import SymbolLocks
from engine.runtime.paper_feed import PaperFeeder
from engine.runtime.state import DECISIONS
from engine.runtime.supervise import Supervisor

PHASES: Counter[str] = Counter()


def _timed(owner: Any, name: str, label: str) -> None:
    real = getattr(owner, name)
    static = isinstance(inspect.getattr_static(owner, name), staticmethod)

    async def timed(*args, **kwargs):
        c = time.process_time()
        try:
            return await real(*args, **kwargs)
        finally:
            PHASES[label] += time.process_time() - c

    setattr(owner, name, staticmethod(timed) if static else timed)


def _timed_sync(owner: Any, name: str, label: str) -> None:
    real = getattr(owner, name)

    def timed(*args, **kwargs):
        c = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            PHASES[label] += time.process_time() - c

    setattr(owner, name, timed)


def _timed_section(owner: Any, name: str, label: str) -> None:
    """An async context manager's entry and exit timed, not its body."""
    real = getattr(owner, name)

    @contextlib.asynccontextmanager
    async def timed(*args, **kwargs):
        c = time.process_time()
        section = real(*args, **kwargs)
        held = await section.__aenter__()
        PHASES[label] += time.process_time() - c
        try:
            yield held
        finally:
            c = time.process_time()
            await section.__aexit__(None, None, None)
            PHASES[label] += time.process_time() - c

    setattr(owner, name, timed)


def _worker(names: list[str]) -> jobs.FreshMarkets:
    clock = jobs.JobClock(RealClock())
    replay = ScaledReplay(clock, names)
    return jobs.FreshMarkets(CandleCache({"replay": replay}, clock, keep=12_000), clock, SymbolLocks(None),
                             replay=replay, factory=paper_factory(replay, markets(names)))


async def _close(fm: jobs.FreshMarkets, close: int, measured: bool = False) -> tuple[float, int, dict]:
    """Every market's job of the close at `close`, one at a time: (CPU s, statements, phases' CPU s)."""
    todo = sorted(await jobs.active_markets())
    PHASES.clear()
    c, sent = time.process_time(), SENT[0]
    for venue, symbol, tf in todo:
        await fm.close(venue, symbol, tf, close - close % STEP - STEP)  # the candle's open time
    cpu = time.process_time() - c
    return cpu, SENT[0] - sent, dict(PHASES) if measured else {}


async def _engine(url: str, names: list[str], closes: list[int]) -> tuple[float, int]:
    await connect(url, apply_migrations=False)
    clock = ManualClock(closes[0] - STEP)
    replay = ScaledReplay(clock, names)
    engine = Engine(clock=clock, replay_source=replay, exchange_factory=paper_factory(replay, markets(names)),
                    shared_locks=False)
    await engine.start(schedule=False, settle=True)
    clock.set(closes[0])
    await engine.tick()
    clock.set(closes[1])
    c, sent = time.process_time(), SENT[0]
    await engine.tick()
    out = time.process_time() - c, SENT[0] - sent
    await engine.shutdown()
    await disconnect()
    return out


async def _one_worker(url: str, names: list[str], closes: list[int]) -> tuple[float, int, dict]:
    await connect(url, apply_migrations=False)
    fm = _worker(names)
    await _close(fm, closes[0])
    out = await _close(fm, closes[1], measured=True)
    await disconnect()
    return out


async def _after_another(url: str, names: list[str], closes: list[int], renew: bool) -> tuple[float, int, int]:
    await connect(url, apply_migrations=False)
    a, b = _worker(names), _worker(names)
    real = jobs._Kept.renew
    if not renew:
        jobs._Kept.renew = lambda self, *args: False
    try:
        await _close(a, closes[0])
        await _close(b, closes[1])
        cpu, statements, _ = await _close(a, closes[2])
    finally:
        jobs._Kept.renew = real
    await disconnect()
    return cpu, statements, a.renewed


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bots", type=int, default=2_000)
    p.add_argument("--symbols", type=int, default=40)
    p.add_argument("--accounts", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    load_kernels()
    count_statements()
    _timed(PaperFeeder, "feed", "feed")
    _timed(Supervisor, "supervise", "supervision")
    _timed(CandleCycle, "close_market", "evaluation")
    _timed(jobs, "market_keys", "keys read")
    _timed(jobs, "market_rows", "rows read")
    _timed_section(SymbolLocks, "hold_all", "locks")
    _timed(PaperStore, "documents", "venues' versions read")
    _timed_sync(jobs._Kept, "still", "kept handles checked")
    t0 = first_close()
    closes = [t0 + k * STEP + 2_000 for k in (1, 2, 3)]
    names = symbols(a.symbols)
    base = f"tb_bench_jobcost_{id(a)}"
    url = await fresh_db(base)
    await migrate(url)
    await connect(url, apply_migrations=False)
    await fill_template(a.bots, a.symbols, a.accounts, past_decisions(DECISIONS - 1, t0 + STEP))  # rings full
    await disconnect()
    settle_heap()  # the collector as every long-running process of ours has it (its Engine and workers alike)
    got: dict[str, list[float]] = {k: [] for k in ("engine", "jobs", "renewed", "afresh")}
    phases: list[dict] = []
    statements: dict[str, int] = {}
    try:
        for _ in range(a.rounds):
            cpu, statements["engine"] = await _engine(await fresh_db(f"{base}_run", base), names, closes)
            got["engine"].append(cpu)
            cpu, statements["jobs"], ph = await _one_worker(await fresh_db(f"{base}_run", base), names, closes)
            got["jobs"].append(cpu)
            phases.append(ph)
            for key, renew in (("renewed", True), ("afresh", False)):
                cpu, statements[key], renewed = await _after_another(await fresh_db(f"{base}_run", base), names,
                                                                     closes, renew)
                got[key].append(cpu)
                if renew:
                    statements["renewed bots"] = renewed
    finally:
        for name in (base, f"{base}_run"):
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    us = {k: statistics.median(v) / a.bots * 1e6 for k, v in got.items()}
    print(f"{a.bots:,} bots, {a.symbols} markets, {a.accounts} paper accounts; CPU a bot, median of {a.rounds} rounds")
    print(f"the Engine's tick (anchor): {us['engine']:.0f} µs, {statements['engine']:,} statements")
    print(f"market jobs, handles kept: {us['jobs']:.0f} µs ({us['jobs'] / us['engine']:.2f}x the Engine), "
          f"{statements['jobs']:,} statements")
    part = {k: statistics.median(p.get(k, 0) for p in phases) / a.bots * 1e6
            for k in ("feed", "supervision", "evaluation", "locks", "keys read", "rows read", "venues' versions read",
                      "kept handles checked")}
    print("  phases, µs a bot: " + ", ".join(f"{k} {v:.0f}" for k, v in part.items())
          + f", the rest {us['jobs'] - sum(part.values()):.0f}")
    print(f"after another worker ran the markets: kept handles renewed {us['renewed']:.0f} µs "
          f"({statements['renewed bots']:,} bots), attached afresh {us['afresh']:.0f} µs "
          f"({us['afresh'] / us['renewed']:.2f}x), statements {statements['renewed']:,} / {statements['afresh']:,}")


if __name__ == "__main__":
    asyncio.run(main())
