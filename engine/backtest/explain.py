"""A backtest for people: the position still held at the end, and why a run made no trade (a refused plan, no
signal, no funds, below the minimum, orders never reached)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from engine.backtest.metrics import EndPosition, end_position
from engine.backtest.runner import BacktestResult, build
from engine.candles import Candles
from engine.strategies import grid as gr
from engine.strategies import hyperrsi as hr
from engine.strategies.grid_ladder import MarketRules, PlanRefused
from engine.strategies.intents import IntentKind


def notes_json(notes: list[tuple[str, dict]]) -> list[dict[str, Any]]:
    return [{"reason": reason, **details} for reason, details in notes]


@dataclass(frozen=True, slots=True)
class Report:
    """A run and what people need to read it: the position held at the end, and why there was no trade."""

    result: BacktestResult
    end: EndPosition
    why: tuple[str, dict] | None

    def notes(self) -> list[tuple[str, dict]]:
        return [*self.result.notes, *([("no_trades", {"cause": self.why[0], **self.why[1]})] if self.why else [])]

    def json(self) -> dict:
        e = self.end
        return {**self.result.summary(), "realized_pnl": e.realized_pnl, "unrealized_pnl": e.unrealized_pnl,
                "end_position": {"amount": e.amount, "entry": e.entry, "mark": e.mark,
                                 "unrealized_pnl": e.unrealized_pnl},
                "notes": notes_json(self.notes())}


def report(result: BacktestResult, settings, candles: Candles, rules: MarketRules | None, maker_fee: float,
           taker_fee: float, slippage: float) -> Report:
    end = end_position(result.fills, float(candles.close[-1]), result.metrics.initial_equity,
                       result.metrics.final_equity)
    why = no_trade_reason(result, settings, candles, rules=rules, maker_fee=maker_fee, taker_fee=taker_fee,
                          slippage=slippage)
    return Report(result, end, why)


def no_trade_reason(result: BacktestResult, settings: Any, candles: Candles, *, rules: MarketRules | None = None,
                    maker_fee: float, taker_fee: float, slippage: float) -> tuple[str, dict] | None:
    """(cause, numbers) when the run closed no trade, else None. Causes:
    position_open (entered, never closed), not_reached (orders rested, the price never reached them),
    plan_refused (the grid cannot be placed: `refusal` and its numbers), no_level_armed (no level on the entry
    side of the price), grid_funds / funds (the account could not pay the entries' margin), no_signal,
    below_minimum and blocked_by_trend (signals the strategy itself declined), orders_refused (anything else the
    simulated account refused)."""
    if result.metrics.trades:
        return None
    if result.fills:
        return "position_open", {"fills": len(result.fills)}
    if result.orders:
        return "not_reached", {"orders": len(result.orders)}
    s, sim, drv, start = build(result.strategy, settings, candles, symbol=result.symbol, timeframe=result.timeframe,
                               initial_equity=result.metrics.initial_equity, maker_fee=maker_fee,
                               taker_fee=taker_fee, slippage=slippage, market=result.market, market_rules=rules)
    if result.strategy == "hyperrsi":
        return _hyperrsi_declined(s, sim, drv)
    idle = _grid_idle(s, rules or MarketRules(), drv, start)
    if idle is not None:
        return idle
    refused = [(r.removeprefix("refused_"), d) for r, d in result.notes if r.startswith("refused_")]
    if refused and refused[0][0] == "insufficient_funds":
        return "grid_funds", {"margin": s.investment / s.levels, "equity": sim.initial}
    return "orders_refused", {"refusal": refused[0][0]} if refused else {}


def _grid_idle(s, rules: MarketRules, drv, start: int) -> tuple[str, dict] | None:
    """Start the grid as the run did (the strategy's own `start`): a refused plan, or no entry to place; None when
    it places entries (so the account must have refused them)."""
    x = drv.x
    if start >= len(x):
        return "no_signal", {"candles": len(x)}
    c = x.at(start)
    try:
        state, intents = gr.start(s, rules, c.close, c.centre, c.atr, c.adx_state, c.index)
    except PlanRefused as e:
        return "plan_refused", {"refusal": e.reason, **e.details}
    if any(it.kind == IntentKind.PLACE for it in intents):
        return None
    prices = [lvl.price for lvl in state.levels]
    return "no_level_armed", {"price": c.close, "lowest": min(prices), "highest": max(prices)}


def _hyperrsi_declined(s: hr.HyperRsiSettings, sim, drv) -> tuple[str, dict]:
    """Step every entry-signal candle from flat, as the run did (it never held a position), and count what
    stopped each one: the strategy's own notes, or the simulated account refusing the order."""
    causes: Counter[str] = Counter()
    first: dict[str, dict] = {}
    for j in drv.entry_idx.tolist():
        c = drv.x.at(j)
        res = hr.on_candle(s, hr.HyperRsiState(), c)
        opens = [it for it in res.intents if it.kind == IntentKind.OPEN]
        if opens:
            it = opens[0]
            if not sim.can_open(it.side, it.amount, c.close):
                cause, details = "funds", {"margin": float(it.details.get("margin", 0.0)),
                                           "equity": sim.initial, "amount": it.amount, "price": c.close}
            else:
                cause, details = "orders_refused", {"amount": it.amount, "price": c.close}
        elif res.notes:
            n = res.notes[0]
            cause = "below_minimum" if n.reason == "below_minimum" else "blocked_by_trend"
            details = {k: v for k, v in n.details.items() if isinstance(v, int | float)}
        else:
            continue
        causes[cause] += 1
        first.setdefault(cause, details)
    if not causes:
        return "no_signal", {"candles": len(drv.x) - drv.start}
    cause, count = causes.most_common(1)[0]
    return cause, {"signals": count, **first[cause]}
