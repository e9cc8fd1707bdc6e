"""One candle-close cycle of 10,000 HYPERRSI bots over 200 symbols on paper exchanges: `python bench/scan.py`.

Prints the cycle's wall time, the market-data requests it made (target: one per distinct (symbol, timeframe)),
peak RSS, and the time of the cycle's own indicator work alone in the same run as the anchor ratio.
Targets: cycle ≤ 2 s on a 2-core machine, requests = distinct (symbol, timeframe), peak RSS ≤ 300 MB.
Production installs no pandas (a dev-only dependency) and TA-Lib imports it only when it finds it, so this
process makes pandas unimportable before anything imports TA-Lib: it loads what production loads (about 40 MB less).
Options: --bots N --symbols N --accounts N --db URL (default: a fresh SQLite file); --busy makes every flat bot
enter on the measured close (RSI thresholds 98/99): the worst case, one market order and its row per bot.
"""

# ruff: noqa: E402  (pandas must be blocked before the imports below load TA-Lib)
from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "scale_parts"))
# Production has no pandas (dev-only, for bench/backtest.py); the dev venv does, and TA-Lib would import it here.
sys.modules["pandas"] = None  # type: ignore[assignment]  # `import pandas` now fails as when it is not installed

from scale_world import ScaledReplay

from db.database import connect, disconnect
from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, Order, StrategyBot, User
from engine.candles import Candles, timeframe_ms
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import Market
from engine.kernel_cache import load_kernels
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from engine.strategies.hyperrsi import HyperRsiSettings
from engine.strategy_inputs import hyperrsi_inputs, warmup

TF = "15m"


def markets(symbols: list[str]) -> dict[str, Market]:
    D = Decimal
    return {s: Market(s, s.split("/")[0], "USDT", MarketType.SWAP, D("0.01"), D("0.001"), D("0.001"), D("5"))
            for s in symbols}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_split() -> str:
    """Resident memory now (Linux): the process's own pages and the pages mapped from files (libraries' code,
    shared with every process that loads them; how much of a library becomes resident depends on the kernel)."""
    try:
        kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in
                                                Path("/proc/self/status").read_text().splitlines())
              if k in ("RssAnon", "RssFile")}
        return f"   (now: {kb['RssAnon'] / 1024:.0f} MB own + {kb['RssFile'] / 1024:.0f} MB mapped from files)"
    except (OSError, KeyError, ValueError):
        return ""


async def setup(n_bots: int, n_symbols: int, n_accounts: int, busy: bool) -> list[str]:
    symbols = [f"S{i:03d}/USDT:USDT" for i in range(n_symbols)]
    await User.bulk_create([User(telegram_id=1000 + a) for a in range(n_accounts)])
    users = await User.all().order_by("id").values_list("id", flat=True)
    await ExchangeAccount.bulk_create([ExchangeAccount(user_id=u, exchange="paper", market_type=MarketType.SWAP,
                                                       label="paper", is_paper=True) for u in users])
    accounts = await ExchangeAccount.all().order_by("id").values_list("id", "user_id")
    per = n_bots // n_accounts
    extra = {"rsi_oversold": 98, "rsi_overbought": 99, "entry_option": "rsi_only"} if busy else {}
    settings = [HyperRsiSettings(timeframe=TF, rsi_period=p, **extra).model_dump() for p in (14, 21)]
    bots = []
    for a, (acc_id, user_id) in enumerate(accounts):
        for k in range(per):
            i = a * per + k
            bots.append(StrategyBot(user_id=user_id, account_id=acc_id, kind=BotKind.HYPERRSI,
                                    symbol=symbols[(a * per + k) % n_symbols], settings=settings[i % 2],
                                    status=BotStatus.RUNNING))
    await StrategyBot.bulk_create(bots, batch_size=1000)
    return symbols


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bots", type=int, default=10_000)
    ap.add_argument("--symbols", type=int, default=200)
    ap.add_argument("--accounts", type=int, default=1_000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--busy", action="store_true")
    args = ap.parse_args()
    baseline = rss_mb()  # the process with its libraries imported (numba, TA-Lib, ccxt; no pandas), before any bot
    tmp = tempfile.mkdtemp()
    url = args.db or f"sqlite://{tmp}/scan.sqlite3"
    await connect(url)
    symbols = await setup(args.bots, args.symbols, args.accounts, args.busy)
    step = timeframe_ms(TF)
    clock = ManualClock(0)
    source = ScaledReplay(clock, symbols)  # every symbol BTC's history scaled: one copy, also for finding the start
    t0 = int(source.candles("BTC/USDT", "1m").ts[0]) + 14 * 86_400_000
    t0 -= t0 % step
    clock.set(t0 + 2_000)
    mk = markets(symbols)

    def factory(account):
        # One read-only market table for all accounts (PaperExchange never writes to it), as a process would
        # share its exchange's markets; a copy per account was 1,000 copies of 200 markets (about 7 MB).
        return PaperExchange(MarketType.SWAP, {"USDT": Decimal(1_000_000)}, markets=mk)

    engine = Engine(clock=clock, replay_source=source, exchange_factory=factory)
    load_kernels()  # as bot/app.py does before the engine starts
    t = time.perf_counter()
    await engine.start(schedule=False)
    startup = time.perf_counter() - t
    if args.busy:  # the warm-up close must not already open every position
        for h in engine.handles.values():
            h.rt.candle = t0 - step  # the warm-up close counts as evaluated
    await engine.run_close(TF)  # warm-up cycle: history fetched, caches filled
    for m in range(1, 15):  # the 1m jobs between two closes: paper fills and supervision
        clock.set(t0 + m * 60_000 + 2_000)
        await engine.feed_paper(clock.now_ms())
        await engine.supervise()
    clock.set(t0 + step + 2_000)
    before = sum(engine.market_data.requests.values())
    orders_before = await Order.all().count()
    t = time.perf_counter()
    await engine.run_close(TF)
    cycle = time.perf_counter() - t
    requests = sum(engine.market_data.requests.values()) - before
    placed = await Order.all().count() - orders_before
    keys = {(s, tf) for (_, s, tf) in engine.market_data.requests}

    # anchor: the cycle's indicator work alone (one computation per symbol and RSI period), same run
    s14, s21 = HyperRsiSettings(timeframe=TF, rsi_period=14), HyperRsiSettings(timeframe=TF, rsi_period=21)
    cs = [await engine.market_data.closed_candles("replay", s, TF, warmup(s14)) for s in symbols]
    t = time.perf_counter()
    for c in cs:
        for st in (s14, s21):
            hyperrsi_inputs(st, Candles(*(np.asarray(x) for x in (c.ts, c.open, c.high, c.low, c.close,
                                                                   c.volume)))).at(-1)
    anchor = time.perf_counter() - t
    evaluated = sum(1 for h in engine.handles.values() if h.rt.candle == t0)
    await engine.shutdown()
    await disconnect()
    print(f"bots {len(engine.handles):,} (evaluated {evaluated:,}) over {args.symbols} symbols, "
          f"{args.accounts} accounts, {url.split(':')[0]}")
    print(f"start-up (attach + reconcile all bots): {startup:.2f} s")
    print(f"candle-close cycle ({TF}): {cycle:.3f} s   target <= 2 s   (orders placed in it: {placed:,})")
    print(f"market-data requests in the cycle: {requests}   distinct (symbol, timeframe): {len(keys)}")
    print(f"anchor (indicators for {args.symbols} symbols x 2 RSI periods): {anchor:.3f} s   "
          f"cycle / anchor = {cycle / anchor:.1f}")
    print(f"peak RSS: {rss_mb():.0f} MB   target <= 300 MB   (after imports, before any bot: {baseline:.0f} MB; "
          f"pandas kept out as in production){rss_split()}")


if __name__ == "__main__":
    asyncio.run(main())
