"""Load time and memory of one stored paper account with a long history: `python bench/paper_load.py`.

Stores one spot paper account with --trades closed orders and trades (one trade each, over --symbols symbols) and
--open resting limit orders, through PaperStore.save, then loads it in fresh PaperExchange copies as a new process
would (the first call loads the venue) and prints: the load's wall time (best of --rounds), the memory the loaded
venue keeps (tracemalloc, after a collection), the orders and trades it holds in memory, and the time of the reads
that reach past memory (an old order by client id, a page of old trades). Figures: bench/README.md.
Options: --db sqlite|postgres (sqlite: a fresh file; postgres: a fresh database on TB_TEST_POSTGRES_URL or the
local server), --trades 20000, --open 50, --symbols 4, --rounds 5.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal as D
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.database import connect, disconnect
from db.models import ExchangeAccount, User
from engine.exchange.paper import PaperExchange
from engine.exchange.paper_state import PaperOrder, VenueState
from engine.exchange.paper_store import Change, PaperStore
from engine.exchange.protocol import MarketType, OrderInfo, OrderStatus, OrderType, Side, Trade

PG_ADMIN = os.environ.get("TB_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
T0 = 1_700_000_000_000


def history(n: int, n_open: int, symbols: list[str]) -> Change:
    """n filled market orders with one trade each (alternating buys and sells), then n_open resting limits."""
    orders, trades = [], []
    for k in range(1, n + 1):
        sym, side, px = symbols[k % len(symbols)], (Side.BUY if k % 2 else Side.SELL), D(30000 + k % 500)
        ts, fee = T0 + k * 60_000, px * D("0.001") * D("0.001")
        orders.append(PaperOrder(OrderInfo(f"O{k}", f"bench-{k}", sym, side, OrderType.MARKET, OrderStatus.CLOSED,
                                           D("0.001"), D("0.001"), None, px, None, False, fee, "USDT", ts), k))
        trades.append(Trade(f"T{k}", f"O{k}", f"bench-{k}", sym, side, px, D("0.001"), fee, "USDT", ts, False))
    for k in range(n + 1, n + n_open + 1):
        info = OrderInfo(f"O{k}", f"bench-{k}", symbols[0], Side.BUY, OrderType.LIMIT, OrderStatus.OPEN, D("0.001"),
                         D(0), D(1000), None, None, False, D(0), "USDT", T0 + n * 60_000)
        orders.append(PaperOrder(info, k, D(1)))
    bases = {s.split("/")[0]: "10" for s in symbols}
    state = VenueState({"USDT": D(1_000_000), **{b: D(v) for b, v in bases.items()}}, {}, {}, {},
                       {s: D(30000) for s in symbols}, {s: T0 + n * 60_000 for s in symbols}, n + n_open, n, D(0))
    return Change(state.to_json(), orders, [], trades)


def fresh(account_id: int) -> PaperExchange:
    return PaperExchange(MarketType.SPOT, {"USDT": D(1_000_000)}, store=PaperStore(account_id))


async def measure(args, url: str) -> None:
    await connect(url)
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"][: args.symbols]
    user = await User.create(telegram_id=1)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type="spot", label="paper", is_paper=True)
    t = time.perf_counter()
    await PaperStore(acc.id).save(0, history(args.trades, args.open, symbols))
    print(f"stored {args.trades} closed orders and trades, {args.open} open orders in {time.perf_counter() - t:.1f} s")

    loads = []
    for _ in range(args.rounds):
        ex = fresh(acc.id)
        t = time.perf_counter()
        await ex.fetch_balance()  # the first call loads the venue
        loads.append(time.perf_counter() - t)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    ex = fresh(acc.id)
    await ex.fetch_balance()
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    trades = ex._trades
    print(f"load: {min(loads) * 1000:.1f} ms (best of {args.rounds}; median "
          f"{sorted(loads)[len(loads) // 2] * 1000:.1f} ms), kept in memory: {kept / 1e6:.2f} MB, "
          f"{len(ex._orders)} orders and {len(trades)} trades in memory")

    t = time.perf_counter()
    old = await ex.fetch_order(symbols[1], client_order_id="bench-1")
    t_order = time.perf_counter() - t
    t = time.perf_counter()
    page = await ex.fetch_my_trades(symbols[0], since=0, limit=100)
    t_page = time.perf_counter() - t
    assert old.id == "O1" and len(page.trades) == min(100, args.trades // len(symbols)), (old, len(page.trades))
    print(f"an old order by client id: {t_order * 1000:.1f} ms; 100 old trades (since=0): {t_page * 1000:.1f} ms")
    await disconnect()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--trades", type=int, default=20_000)
    ap.add_argument("--open", type=int, default=50)
    ap.add_argument("--symbols", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"[{args.db}]", end=" ")
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await measure(args, f"sqlite://{tmp}/bench.sqlite3")
        return
    name = f"tb_bench_paper_{os.getpid()}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await measure(args, f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
