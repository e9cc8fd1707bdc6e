"""A bot's settings over its symbol's recent candles, for /backtest and the risk card alike: the candles read through
the account's exchange (paged where a venue caps a page), the starting equity, the market's costs and rules, and
the simulation in a worker thread (at most two at a time, with an optional timeout), and its figures in words."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram.utils.i18n import gettext as _

from bot import numbers as nb
from bot.services.accounts import ExchangeAccount
from db.enums import MarketType
from engine.candles import Candles, timeframe_ms
from engine.exchange.protocol import Exchange, Market
from engine.strategies.grid_ladder import MarketRules

if TYPE_CHECKING:
    from engine.backtest.runner import BacktestResult

log = logging.getLogger(__name__)

PAGE = 1000  # candles asked for per request; a venue answering fewer is paged on from the last one
MAX_PAGES = 60
BALANCE_TIMEOUT = 10.0
DEFAULT_EQUITY = 10_000.0  # when the account's balance cannot be read (or is empty)
WORKERS = asyncio.Semaphore(2)  # simulations share the process with the bot: at most two at a time


async def fetch_candles(ex: Exchange, symbol: str, timeframe: str, n: int) -> Candles:
    """The newest `n` candles of `timeframe` the exchange serves: one request when it answers them all, else
    paged forward from where the `n`-th newest one opens (venues cap a page at 100 to 1,500 candles)."""
    first = await ex.fetch_ohlcv(symbol, timeframe, limit=min(n, PAGE))
    if len(first) >= n or not first:
        return Candles.from_rows(first[-n:])
    step, end = timeframe_ms(timeframe), int(first[-1][0])
    since, rows = end - (n - 1) * step, []
    for _page in range(MAX_PAGES):
        if since > end:
            break
        page = [r for r in await ex.fetch_ohlcv(symbol, timeframe, since=since, limit=PAGE) if since <= r[0] <= end]
        if not page:  # a gap in the venue's history: on past it
            since += PAGE * step
            continue
        rows.extend(page)
        since = int(page[-1][0]) + step
    return Candles.from_rows(rows if len(rows) > len(first) else first)


async def account_equity(ex: Exchange, account: ExchangeAccount, quote: str) -> float | None:
    """Paper: the account's quote balance; live: the free quote balance (fetch_balance). None when unknown."""
    try:
        bal = (await asyncio.wait_for(ex.fetch_balance(), BALANCE_TIMEOUT)).get(quote)
    except Exception as e:
        log.info("backtest: balance of account %s unavailable: %s", account.id, type(e).__name__)
        return None
    if bal is None:
        return None
    v = float(bal.total if account.is_paper else bal.free)
    return v if v > 0 else None


@dataclass(frozen=True, slots=True)
class Run:
    """What a simulation of a bot's settings needs, read from its account: its candles, the starting equity and
    where it came from ("balance", "asked", "default"), and the market's fees, slippage and order rules."""

    symbol: str
    timeframe: str
    market: Market  # in base units
    candles: Candles
    equity: float
    source: str
    kind: str  # "swap" or "spot": the simulated account
    rules: MarketRules
    costs: dict[str, float]

    def simulate(self, strategy: str, settings: dict[str, Any]) -> BacktestResult:
        """The backtest (blocking: call it through `in_worker`)."""
        from engine.backtest.runner import run_backtest

        return run_backtest(strategy, settings, self.candles, symbol=self.symbol, timeframe=self.timeframe,
                            initial_equity=self.equity, market=self.kind, market_rules=self.rules, **self.costs)

    def simulate_explained(self, strategy: str, settings: dict[str, Any]) -> tuple[BacktestResult, Any]:
        """The backtest and, when it made no trade, why not (engine.backtest.explain's cause); blocking."""
        from engine.backtest.explain import no_trade_reason

        result = self.simulate(strategy, settings)
        c = self.costs
        return result, no_trade_reason(result, settings, self.candles, rules=self.rules, maker_fee=c["maker_fee"],
                                       taker_fee=c["taker_fee"], slippage=c["slippage"])


async def prepare(ex: Exchange, account: ExchangeAccount, m: Market, symbol: str, timeframe: str, n: int,
                  equity: float = 0.0) -> Run:
    """The newest `n` candles (none when the exchange has none to give), and the starting equity: `equity` when
    asked for, else the account's balance, else DEFAULT_EQUITY."""
    from engine.exchange.paper import MAKER_FEE, SLIPPAGE, TAKER_FEE
    from engine.market.rules import market_rules

    try:
        candles = await fetch_candles(ex, symbol, timeframe, n)
    except Exception as e:
        log.info("backtest of %s %s: no history: %s", symbol, timeframe, type(e).__name__)
        candles = Candles.from_rows([])
    source = "asked"
    if not equity:
        balance = await account_equity(ex, account, m.quote)
        equity, source = (balance, "balance") if balance else (DEFAULT_EQUITY, "default")
    costs = {"maker_fee": float(m.maker_fee if m.maker_fee is not None else MAKER_FEE),
             "taker_fee": float(m.taker_fee if m.taker_fee is not None else TAKER_FEE), "slippage": float(SLIPPAGE)}
    kind = "swap" if MarketType(account.market_type) == MarketType.SWAP else "spot"
    return Run(symbol, timeframe, m, candles, equity, source, kind, market_rules(m), costs)


async def in_worker(fn, *args: Any, timeout: float | None = None) -> Any:
    """`fn(*args)` in a worker thread once one of the WORKERS is free; TimeoutError when waiting and running took
    longer than `timeout` seconds. A thread that overran keeps its worker until it ends."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    await asyncio.wait_for(WORKERS.acquire(), timeout)
    fut = asyncio.ensure_future(asyncio.to_thread(fn, *args))

    def done(f: asyncio.Future) -> None:
        WORKERS.release()
        if not f.cancelled():
            f.exception()  # retrieved: an overrun thread's failure is not "never retrieved"

    fut.add_done_callback(done)
    left = None if deadline is None else max(0.0, deadline - loop.time())
    return await asyncio.wait_for(asyncio.shield(fut), left)


def signed_pct(v: float) -> str:
    """A percentage with its sign: "+1.23%", "-0.50%", "0.00%"."""
    return ("+" if round(v, 2) > 0 else "") + nb.pct(v)


def why_text(why: tuple[str, dict], mn: nb.MarketNumbers) -> str:
    """'No trades: …' for a cause from engine.backtest.explain, with its numbers formatted for people."""
    cause, d = why
    texts = {
        "plan_refused": _("backtest.why.plan_refused"), "not_reached": _("backtest.why.not_reached"),
        "no_signal": _("backtest.why.no_signal"), "funds": _("backtest.why.funds"),
        "grid_funds": _("backtest.why.grid_funds"),
        "below_minimum": _("backtest.why.below_minimum"), "blocked_by_trend": _("backtest.why.blocked_by_trend"),
        "orders_refused": _("backtest.why.orders_refused"), "no_level_armed": _("backtest.why.no_level_armed"),
    }
    refusal = d.get("refusal", "")
    values = {
        "refusal": _(f"refused.{refusal}") if refusal else "", "orders": d.get("orders", 0),
        "candles": d.get("candles", 0), "signals": d.get("signals", 0), "margin": mn.money(d.get("margin", 0.0)),
        "equity": mn.money(d.get("equity", 0.0)), "min_cost": mn.money(d.get("min_cost", 0.0)),
        "price": mn.price(d.get("price", 0.0)), "lowest": mn.price(d.get("lowest", 0.0)),
        "highest": mn.price(d.get("highest", 0.0)),
    }
    return texts.get(cause, _("backtest.why.orders_refused")).format(**values)
