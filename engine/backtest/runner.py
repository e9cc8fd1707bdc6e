"""run_backtest: the live strategy functions over candles, on a simulated account, jumping between events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from engine.backtest import metrics as mt
from engine.backtest.grid_driver import GridDriver
from engine.backtest.hyperrsi_driver import HyperRsiDriver
from engine.backtest.sim import FillRecord, OrderRecord, Sim
from engine.candles import Candles, timeframe_ms
from engine.exchange.paper import MAKER_FEE, SLIPPAGE, TAKER_FEE
from engine.strategies.grid import GridSettings
from engine.strategies.grid_ladder import MarketRules
from engine.strategies.hyperrsi import HyperRsiSettings
from engine.strategy_inputs import grid_inputs, hyperrsi_inputs

Strategy = Literal["hyperrsi", "grid"]
SETTINGS = {"hyperrsi": HyperRsiSettings, "grid": GridSettings}


@dataclass(frozen=True, slots=True)
class BacktestResult:
    strategy: str
    symbol: str
    timeframe: str
    market: str
    ts: np.ndarray  # open times of the candles from the first traded one
    equity: np.ndarray  # equity at each of those candles' close
    fills: list[FillRecord]
    orders: list[OrderRecord]
    metrics: mt.Metrics
    candles: int
    events: int  # candles the strategy was actually stepped on
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def equity_curve(self) -> list[tuple[int, float]]:
        return list(zip(self.ts.tolist(), self.equity.tolist(), strict=True))

    def summary(self, max_points: int = 1000) -> dict[str, Any]:
        """The CLI's JSON object (the equity curve sampled to at most `max_points` points, last one included)."""
        m = self.metrics
        step = max(1, -(-len(self.ts) // max_points))
        idx = np.r_[np.arange(0, len(self.ts), step), len(self.ts) - 1] if len(self.ts) else np.arange(0)
        idx = np.unique(idx)
        return {
            "strategy": self.strategy, "symbol": self.symbol, "timeframe": self.timeframe, "candles": self.candles,
            "start": int(self.ts[0]) if len(self.ts) else None, "end": int(self.ts[-1]) if len(self.ts) else None,
            "initial_equity": m.initial_equity, "final_equity": m.final_equity,
            "total_return_pct": m.total_return_pct, "max_drawdown_pct": m.max_drawdown_pct, "trades": m.trades,
            "win_rate": m.win_rate, "profit_factor": m.profit_factor, "sharpe": m.sharpe, "fees_paid": m.fees_paid,
            "fills": [{"ts": f.ts, "side": f.side, "price": f.price, "amount": f.amount, "fee": f.fee,
                       "reason": f.reason} for f in self.fills],
            "equity_curve": [[int(self.ts[i]), float(self.equity[i])] for i in idx],
        }


def default_market(strategy: str, settings: HyperRsiSettings | GridSettings, symbol: str) -> str:
    """Swap for futures symbols, HYPERRSI, and grids that short or use leverage; spot for a plain long grid."""
    if ":" in symbol or strategy == "hyperrsi":
        return "swap"
    return "spot" if settings.direction == "long" and settings.leverage == 1 else "swap"


def coerce_settings(strategy: str, settings: Any, timeframe: str):
    """Validated settings of `strategy` (a model, a dict or None = defaults) on the candles' timeframe."""
    model = SETTINGS[strategy]
    data = settings.model_dump() if hasattr(settings, "model_dump") else dict(settings or {})
    data["timeframe"] = timeframe
    return model.model_validate(data)


def build(strategy: Strategy, settings: Any, candles: Candles, *, symbol: str, timeframe: str,
          initial_equity: float, maker_fee: float, taker_fee: float, slippage: float, market: str | None,
          market_rules: MarketRules | None):
    """The simulated account and the driver of one run (shared with the tests' every-candle oracle)."""
    settings = coerce_settings(strategy, settings, timeframe)
    rules = market_rules or MarketRules()
    market = market or default_market(strategy, settings, symbol)
    if strategy == "hyperrsi":
        x = hyperrsi_inputs(settings, candles, timeframe, rules)
    else:
        x = grid_inputs(settings, candles, timeframe)
    sim = Sim(candles.open, candles.high, candles.low, candles.close, candles.ts, market, float(initial_equity),
              maker_fee, taker_fee, slippage, rules, float(settings.leverage), round_trips=strategy == "hyperrsi")
    start = min(x.ready, len(candles))
    if strategy == "hyperrsi":
        return settings, sim, HyperRsiDriver(settings, x, sim, start), start
    return settings, sim, GridDriver(settings, x, sim, start, rules), start


def run_backtest(strategy: Strategy, settings: Any, candles: Candles, *, symbol: str = "BTC/USDT",
                 timeframe: str = "15m", initial_equity: float = 10_000.0, maker_fee: float = float(MAKER_FEE),
                 taker_fee: float = float(TAKER_FEE), slippage: float = float(SLIPPAGE), market: str | None = None,
                 market_rules: MarketRules | None = None, step_every_candle: bool = False) -> BacktestResult:
    """Run `strategy` with `settings` over `candles` of `timeframe` (the settings' timeframe is set to it).

    Each candle j is handled as the live runner handles a closed candle on the paper exchange:
    1. the orders on the book are matched on candle j with `paper_matching` (a market order sent at the previous
       close fills at this open, before a stop the open gaps through), then a swap position is liquidated if
       the candle reached the paper exchange's liquidation price;
    2. every fill goes to the strategy's `on_fill`, in path order, then the book is synced to `desired_orders`;
    3. `on_candle(j)`; the market orders it asks for are placed (they fill at candle j+1's open), and the book is
       synced again. An order placed while handling candle j is recorded in `.orders` with ts = candle j's open
       time and can fill from candle j+1 on.
    Candles where none of this can change anything are skipped (found vectorised, or by a compiled scan for an
    adaptive grid); the fills, equity and metrics are the same as stepping every candle, which
    `step_every_candle=True` does (the reference the tests compare with; it also lists every order placed).
    """
    settings, sim, drv, start = build(strategy, settings, candles, symbol=symbol, timeframe=timeframe,
                                      initial_equity=initial_equity, maker_fee=maker_fee, taker_fee=taker_fee,
                                      slippage=slippage, market=market, market_rules=market_rules)
    n = len(candles)
    equity = np.full(n, float(initial_equity))
    close = candles.close
    drv.begin()
    events, i = 0, drv.first
    while i < n:
        j = i if step_every_candle else drv.next_event(i)
        equity[i:j] = sim.cash + sim.position * close[i:j]
        if j >= n:
            break
        drv.process(j)
        events += 1
        equity[j] = sim.cash + sim.position * close[j]
        i = j + 1
    events += getattr(drv, "advanced", 0)
    return finish(strategy, symbol, timeframe, sim, drv, candles, equity, start, events)


def finish(strategy: str, symbol: str, timeframe: str, sim: Sim, drv, candles: Candles, equity: np.ndarray,
           start: int, events: int) -> BacktestResult:
    eq = equity[start:]
    m = mt.compute(eq, sim.trades, sim.fees, timeframe_ms(timeframe), sim.initial)
    notes = ([drv.refused] if getattr(drv, "refused", None) else []) + sim.notes()
    return BacktestResult(strategy, symbol, timeframe, sim.market, candles.ts[start:], eq, sim.fills, sim.orders, m,
                          len(candles), events, notes)
