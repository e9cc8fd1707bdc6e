"""The synthetic market of bench/scale.py: N symbols sharing BTC's replayed candles (one copy, each symbol scaled by
its own factor), their paper markets, a paper venue per account stored in the database, and the template database
of users, paper accounts, bots and positions."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, Position, StrategyBot, User
from engine.candles import timeframe_ms
from engine.exchange.paper import PaperExchange
from engine.exchange.paper_markets import DEFAULT_MARKETS
from engine.exchange.paper_store import PaperStore
from engine.indicators import rsi
from engine.market.replay import ReplaySource
from engine.strategies.hyperrsi import HyperRsiSettings

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("TB_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()
TF = "15m"


def symbols(n: int) -> list[str]:
    return [f"S{i:04d}/USDT:USDT" for i in range(n)]


class ScaledReplay(ReplaySource):
    """Every symbol is BTC/USDT's replay times a factor of its own (0.5 to 1.5); requests counted per market."""

    def __init__(self, clock, names: list[str]):
        super().__init__(DATA, clock)
        self.factor = {s: 0.5 + i / len(names) for i, s in enumerate(names)}
        self.requests: Counter = Counter()

    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        self.requests[(symbol, timeframe)] += 1
        rows = await super().fetch_ohlcv("BTC/USDT", timeframe, since=since, limit=limit)
        if not rows:
            return rows
        a = np.asarray(rows)
        a[:, 1:5] *= self.factor[symbol]
        return a.tolist()


def markets(names: list[str]) -> dict:
    """BTC's perpetual market under each synthetic name: one table shared by every account (never written to)."""
    btc = DEFAULT_MARKETS["BTC/USDT:USDT"]
    return {s: dataclasses.replace(btc, symbol=s, base=s.split("/")[0]) for s in names}


def paper_factory(source, table: dict):
    """Each account's paper venue: stored in the database (PaperStore), its candles from the scaled replay."""

    def make(account: ExchangeAccount) -> PaperExchange:
        return PaperExchange(MarketType.SWAP, {"USDT": Decimal(100_000)}, markets=table, source=source,
                             owns_source=False, store=PaperStore(account.id))

    return make


def past_decisions(n: int, first_close: int) -> list[dict]:
    """The /why records of `n` quiet closes before `first_close`, as a running bot's ring holds them: with `n` one
    short of the ring's length, every bot's ring is full from the first close on, as it is in a service that runs."""
    step = timeframe_ms(TF)
    return [{"ts": first_close - (n - k) * step, "close": 61234.5 + k, "sig": {"rsi": 48.1234567 + k,
             "rsi_prev": 47.7654321 + k, "trend": 0}, "rules": [["no_signal", {"mode": "threshold", "direction": "both",
             "oversold": 30.0, "overbought": 70.0}]], "orders": []} for k in range(n)]


async def fill_template(n_bots: int, n_symbols: int, n_accounts: int, ring: list[dict] | None = None) -> None:
    """Users with one paper perpetual account each, `n_bots` HYPERRSI bots on `TF` spread over the accounts and the
    symbols (an account's bots on different symbols), running, each with its Position row and `ring` of /why
    decisions."""
    names = symbols(n_symbols)
    await User.bulk_create([User(telegram_id=10_000 + a) for a in range(n_accounts)], batch_size=5000)
    users = await User.all().order_by("id").values_list("id", flat=True)
    await ExchangeAccount.bulk_create([ExchangeAccount(user_id=u, exchange="paper", market_type=MarketType.SWAP,
                                                       label="paper", is_paper=True) for u in users], batch_size=5000)
    accounts = await ExchangeAccount.all().order_by("id").values_list("id", "user_id")
    settings = [HyperRsiSettings(timeframe=TF, rsi_period=p).model_dump(mode="json") for p in (14, 21)]
    bots = []
    for i in range(n_bots):
        a, k = i % n_accounts, i // n_accounts  # the k-th bot of account a: on the symbol after its (k-1)-th
        acc, user = accounts[a]
        bots.append(StrategyBot(user_id=user, account_id=acc, kind=BotKind.HYPERRSI, symbol=names[(a + k) % n_symbols],
                                settings=settings[(i // n_symbols) % 2], status=BotStatus.RUNNING, decisions=ring))
    await StrategyBot.bulk_create(bots, batch_size=5000)
    rows = await StrategyBot.all().values_list("id", "symbol")
    await Position.bulk_create([Position(bot_id=b, symbol=s) for b, s in rows], batch_size=5000)


@functools.cache
def _btc() -> Any:
    """BTC's candles of TF, read once (`steady_closes` asks for the RSI at many closes)."""
    return ReplaySource(DATA, None).candles("BTC/USDT", TF)  # the clock is not asked


def _rsi_at(closes: list[int], period: int) -> list[float]:
    """The RSI of `period` of BTC's candle each close evaluates (every symbol's: its candles are BTC's scaled)."""
    c = _btc()
    out = []
    for close in closes:
        end = int(np.searchsorted(c.ts, close - timeframe_ms(TF), side="right"))
        out.append(float(rsi(c.close[max(0, end - 500):end], period)[-1]))
    return out


def steady_closes(start: int, n: int, periods: tuple[int, ...] = (14, 21), gap: float = 0.5) -> list[int]:
    """The first `n` consecutive closes of TF from `start` on (a close at `start`, then one each candle) whose last
    one's RSI lies beyond every earlier one's, on the same side and by more than `gap`, for each of `periods`: a
    threshold between them (`busy_settings`) enters on the last close and on none before it."""
    step = timeframe_ms(TF)
    for first in range(start, start + 2_000 * step, step):
        closes = [first + k * step for k in range(n)]
        sides = set()
        for period in periods:
            *before, now = _rsi_at(closes, period)
            sides.add("long" if now < min(before) - gap else "short" if now > max(before) + gap else None)
        if len(sides) == 1 and None not in sides:
            return closes
    raise ValueError(f"no {n} closes from {start} where the last one's RSI is beyond the others'")


def busy_settings(period: int, closes: list[int]) -> dict:
    """Settings of a bot of `period` that enters on the last of `closes` and on none before it, from the market
    alone (`closes` as `steady_closes` gives them): an RSI threshold half-way between the last close's RSI and the
    nearest of the earlier ones', long where it fell below them all, short where it rose above them. The busy bots
    are set so before the first close, so that their handles are as unchanged as a real busy close's."""
    *before, now = _rsi_at(closes, period)
    if now < min(before):
        mid = round((min(before) + now) / 2, 2)
        side = {"direction": "long", "rsi_oversold": mid, "rsi_overbought": 99}
    else:
        mid = round((max(before) + now) / 2, 2)
        side = {"direction": "short", "rsi_oversold": 1, "rsi_overbought": mid}
    return HyperRsiSettings(timeframe=TF, rsi_period=period, entry_option="rsi_only", rsi_entry_option="threshold",
                            **side).model_dump(mode="json")


async def make_busy(share: float, closes: list[int]) -> int:
    """`share` of the bots (every k-th) get the settings of `busy_settings`, written to the database."""
    every = max(1, round(1 / share))
    busy = (await StrategyBot.all().order_by("id").values_list("id", "settings"))[::every]
    by_period: dict[int, list[int]] = {}
    for bot_id, settings in busy:
        by_period.setdefault(settings["rsi_period"], []).append(bot_id)
    for period, ids in by_period.items():
        settings = busy_settings(period, closes)
        for k in range(0, len(ids), 5000):
            await StrategyBot.filter(id__in=ids[k:k + 5000]).update(settings=settings)
    return len(busy)
