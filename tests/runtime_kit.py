"""Shared set-up for the runtime tests: users, paper accounts and bots, a replayed day, and consistency checks."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np

from db.enums import BotKind, BotStatus, MarketType, OrderStatus
from db.models import ExchangeAccount, Fill, GridLevel, Notification, Order, Position, StrategyBot, User
from engine.candles import load_csv
from engine.runtime.orders import OPEN_STATES
from tests.conftest import ROOT

DAY_MS = 86_400_000
HYPERRSI_SETTINGS = {"timeframe": "5m", "rsi_entry_option": "threshold", "rsi_oversold": 35, "rsi_overbought": 65,
                     "entry_option": "rsi_only", "investment": 100, "leverage": 10, "use_sl": True, "sl_value": 2.0,
                     "tp1_value": 0.3, "tp2_value": 0.6, "tp3_value": 1.0}


def day_start(data_dir, symbol: str = "BTC_USDT") -> int:
    """A day a week into the data (so indicators have history), aligned to the minute."""
    ts = load_csv(data_dir / f"{symbol}-1m.csv").ts
    start = int(ts[0]) + 7 * DAY_MS
    return start - start % 60_000


async def replay_engine(data_dir):
    """An Engine on the shared candles replayed from `day_start` by a manual clock, started without its jobs:
    returns (engine, clock, start ms); tests move the clock and call engine.tick()."""
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine

    start = day_start(data_dir)
    clock = ManualClock(start + 2_000)
    engine = Engine(clock=clock, replay_dir=data_dir)
    await engine.start(schedule=False)
    return engine, clock, start


def price_range(data_dir, symbol: str, start: int, minutes: int) -> tuple[float, float]:
    c = load_csv(data_dir / f"{symbol}-1m.csv")
    i = int(np.searchsorted(c.ts, start))
    return float(c.low[i:i + minutes].min()), float(c.high[i:i + minutes].max())


def grid_settings(lo: float, hi: float, **kw) -> dict:
    return {"mode": "fixed", "direction": "long", "lower_price": round(lo * 0.995, 2),
            "upper_price": round(hi * 1.0, 2), "levels": 12, "investment": 3000, "leverage": 3,
            "tp_min_pct": 0.3, "timeframe": "5m", **kw}


async def make_bots(data_dir, start: int, *, telegram_id: int = 1, hyperrsi: bool = True, grid: bool = True,
                    grid_kw: dict | None = None) -> tuple[User, list[StrategyBot]]:
    user = await User.create(telegram_id=telegram_id)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    bots = []
    if hyperrsi:
        bots.append(await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                             settings=HYPERRSI_SETTINGS, status=BotStatus.DRAFT))
    if grid:
        lo, hi = price_range(data_dir, "ETH_USDT", start, 1440)
        bots.append(await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="ETH/USDT:USDT",
                                             settings=grid_settings(lo, hi, **(grid_kw or {})),
                                             status=BotStatus.DRAFT))
    return user, bots


async def assert_consistent(exchanges: dict) -> dict:
    """Exchange and database agree; each fill told exactly once; no client id used twice. Returns figures."""
    fills = await Fill.all().values("account_id", "trade_id")
    keys = [f"fill:{f['account_id']}:{f['trade_id']}" for f in fills]
    told = Counter(await Notification.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
    assert all(told[k] == 1 for k in keys), "every fill is told exactly once"
    cids = await Order.all().values_list("client_order_id", flat=True)
    assert len(cids) == len(set(cids))
    for account_id, ex in exchanges.items():
        ours = set(await Order.filter(account_id=account_id, status=OrderStatus.OPEN)
                   .values_list("client_order_id", flat=True))
        theirs = {o.client_order_id for o in await ex.fetch_open_orders()}
        assert ours == theirs, (ours - theirs, theirs - ours)
        assert not await Order.filter(account_id=account_id, status__in=[OrderStatus.UNKNOWN,
                                                                         OrderStatus.PENDING]).exists()
    for o in await Order.filter(status=OrderStatus.CLOSED):
        got = sum((f.amount for f in await Fill.filter(order_id=o.id)), Decimal(0))
        assert got == o.filled == o.amount or o.reduce_only, (o.client_order_id, got, o.filled, o.amount)
    return {"orders": len(cids), "fills": len(fills), "open": await Order.filter(status__in=list(OPEN_STATES)).count()}


async def grid_rows_match(bot_id: int, state) -> None:
    rows = {g.index: g for g in await GridLevel.filter(bot_id=bot_id)}
    assert set(rows) == {lvl.index for lvl in state.levels}
    for lvl in state.levels:
        assert rows[lvl.index].state.value == lvl.state


async def position_of(bot_id: int) -> Position:
    return await Position.get(bot_id=bot_id)


async def grid_on_venue(fake, data_dir, exchange: str, telegram_id: int, minutes: int) -> tuple:
    """A long GRID bot (DRAFT) on a spot account of `exchange` over the replayed day's range, and that day:
    returns (user, bot, start ms, candles of the first `minutes` + 1 minutes)."""
    start = day_start(data_dir)
    c = load_csv(data_dir / "BTC_USDT-1m.csv")
    i = int(np.searchsorted(c.ts, start))
    day = c[i:i + minutes + 1]
    lo, hi = float(day.low.min()), float(day.high.max())
    user = await User.create(telegram_id=telegram_id)
    acc = await ExchangeAccount.create(user=user, exchange=exchange, market_type=MarketType.SPOT, label=exchange,
                                       api_key_enc="x", secret_enc="x")
    bot = await StrategyBot.create(
        user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT", status=BotStatus.DRAFT,
        settings={"mode": "fixed", "direction": "long", "lower_price": round(lo * 0.999, 1),
                  "upper_price": round(hi, 1), "levels": 10, "investment": 2000, "tp_min_pct": 0.25,
                  "timeframe": "5m", "adx_gate": False})
    fake.set_price("BTC/USDT", day.close[0])
    return user, bot, start, day


def minutes_done(state: Path) -> int:
    """The last minute a kill child finished (STATE_DIR/progress), 0 before the first run."""
    progress = state / "progress"
    return int(progress.read_text()) if progress.exists() else 0


async def tick_minutes(engine, clock, start: int, state: Path, minutes: int) -> None:
    """A kill child's loop: minute by minute from where the last run got to, up to `minutes`, recording each minute
    done atomically (a kill never leaves a half-written progress file); then one reconciliation."""
    for k in range(minutes_done(state), minutes + 1):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()
        tmp = state / "progress.tmp"
        tmp.write_text(str(k))
        os.replace(tmp, state / "progress")
    await engine.reconcile_all()


async def run_child(module: str, *args, state: Path, kill_after: int | None = None) -> int:
    """Runs a kill child (`python -m module args`): to its end (exit 0, or a SIGKILL it gave itself), or SIGKILLed
    once its progress passed minute `kill_after`. Returns its exit code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *map(str, args), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    if kill_after is not None:
        return await kill_when_past(proc, state / "progress", kill_after)
    _, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-3000:]
    return proc.returncode


async def kill_when_past(proc: asyncio.subprocess.Process, progress, kill_after: int) -> int:
    """SIGKILLs the child once its `progress` file says it passed minute `kill_after`; returns its exit code."""
    while proc.returncode is None:
        if progress.exists() and int(progress.read_text() or 0) >= kill_after:
            await asyncio.sleep(random.uniform(0, 0.05))  # land somewhere inside a tick
            proc.send_signal(signal.SIGKILL)
            break
        await asyncio.sleep(0.005)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    return proc.returncode


async def start_through_control(data_dir, start: int, user_id: int, bot_ids: list[int]) -> None:
    """The bots started at `start` + 2 s as a user's press would (the engine's Control, replayed candles), then the
    engine shut down: what child processes (workers, replicas) then pick up."""
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine

    engine = Engine(clock=ManualClock(start + 2_000), replay_dir=data_dir)
    await engine.start(schedule=False)
    for bot_id in bot_ids:
        await engine.control.start_bot(user_id, bot_id)
    await engine.shutdown()
