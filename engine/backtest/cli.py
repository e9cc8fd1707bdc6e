"""`python -m engine.backtest`: run HYPERRSI or GRID over a candle CSV and print JSON or a summary, or plot it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from engine.backtest.explain import Report, report
from engine.backtest.runner import SETTINGS, run_backtest
from engine.candles import Candles, load_csv, parse_csv_name
from engine.exchange.paper import MAKER_FEE, SLIPPAGE, TAKER_FEE
from engine.strategies.grid_ladder import MarketRules

DEFAULT_GRID_SPAN = 0.10  # a fixed grid without bounds spans ±10 % around the first close


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m engine.backtest", description=__doc__)
    p.add_argument("--strategy", required=True, choices=sorted(SETTINGS))
    p.add_argument("--config", type=Path, help="JSON file with the strategy's settings (defaults when absent)")
    p.add_argument("--data", type=Path, required=True, help="candle CSV (timestamp_ms,open,high,low,close,volume)")
    p.add_argument("--symbol", help="default: from the file name, e.g. BTC_USDT-1m.csv -> BTC/USDT")
    p.add_argument("--timeframe", help="default: from the file name")
    p.add_argument("--market", choices=("spot", "swap"), help="default: swap, or spot for a plain long grid")
    p.add_argument("--initial-equity", type=float, default=10_000.0)
    p.add_argument("--maker-fee", type=float, default=float(MAKER_FEE))
    p.add_argument("--taker-fee", type=float, default=float(TAKER_FEE))
    p.add_argument("--slippage", type=float, default=float(SLIPPAGE))
    p.add_argument("--price-step", type=float, default=0.0, help="the market's tick (default: none)")
    p.add_argument("--amount-step", type=float, default=0.0, help="its lot, in base currency (default: none)")
    p.add_argument("--min-amount", type=float, default=0.0, help="its minimum order amount, base currency")
    p.add_argument("--min-cost", type=float, default=0.0, help="its minimum order value, quote currency")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="write the chart")
    return p.parse_args(argv)


def settings_for(strategy: str, config: Path | None, candles: Candles, warn) -> dict:
    data = json.loads(config.read_text(encoding="utf-8")) if config else {}
    if not isinstance(data, dict):
        raise ValueError(f"{config}: expected a JSON object of settings")
    if strategy == "grid" and data.get("mode", "fixed") == "fixed" and not data.get("upper_price") and len(candles):
        first = float(candles.close[0])
        data = {**data, "lower_price": round(first * (1 - DEFAULT_GRID_SPAN), 2),
                "upper_price": round(first * (1 + DEFAULT_GRID_SPAN), 2)}
        warn(f"no grid bounds given: {data['lower_price']} – {data['upper_price']} (±10 % of the first close)")
    return data


WHY = {
    "plan_refused": "the plan was refused: {refusal}",
    "position_open": "a position was opened and is still held at the end (see 'open at end')",
    "not_reached": "{orders} orders rested but the price never reached them",
    "no_signal": "no entry signal in {candles:,} candles",
    "funds": "{signals} entry signals, but the account could not pay the margin ({margin:,.2f} per entry plus "
             "fees, equity {equity:,.2f})",
    "grid_funds": "the account could not pay the margin of the grid's entries ({margin:,.2f} per level plus fees, "
                  "equity {equity:,.2f})",
    "below_minimum": "{signals} entry signals, each below the market's minimum order",
    "blocked_by_trend": "{signals} entry signals, all against a strong trend (the trend filter blocked them)",
    "orders_refused": "the simulated account refused the orders",
    "no_level_armed": "no level on the entry side of the price {price:,.8g} (levels {lowest:,.8g} .. {highest:,.8g})",
}


def _details(d: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in d.items())


def summary_text(rep: Report) -> str:
    r = rep.result
    s = r.summary(max_points=2)
    pf = f"{s['profit_factor']:.2f}" if s["profit_factor"] is not None else \
        "n/a (no losing trade)" if s["trades"] else "n/a"
    e = rep.end
    lines = [
        f"{r.strategy.upper()} {r.symbol} {r.timeframe} ({r.market}), {s['candles']:,} candles",
        f"  equity       {s['initial_equity']:,.2f} -> {s['final_equity']:,.2f}  ({s['total_return_pct']:+.2f} %)",
        f"  realised     {e.realized_pnl:+,.2f}  (closed trades, all fees)",
        f"  max drawdown {s['max_drawdown_pct']:.2f} %",
        f"  trades       {s['trades']}  (win rate {s['win_rate']:.1f} %, profit factor {pf})",
        f"  sharpe       {s['sharpe']:.2f}",
        f"  fees paid    {s['fees_paid']:,.2f}",
        f"  fills        {len(r.fills)}  (orders placed {len(r.orders)})",
    ]
    if e.amount:
        lines.append(f"  open at end  {'long' if e.amount > 0 else 'short'} {abs(e.amount):g} @ {e.entry:,.8g}, "
                     f"last {e.mark:,.8g}: unrealised {e.unrealized_pnl:+,.2f} (not in the trades above)")
    explained = rep.why is not None and rep.why[0] == "plan_refused"  # the refusal is the note: said once below
    for reason, details in [] if explained else r.notes:
        lines.append(f"  note         {reason} ({_details(details)})")
    if rep.why:
        cause, details = rep.why
        line = f"  no trades    {WHY[cause].format(**details)}"
        if cause == "plan_refused":
            line += f" ({_details({k: v for k, v in details.items() if k != 'refusal'})})"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)

    def warn(msg: str) -> None:
        print(f"note: {msg}", file=sys.stderr)

    try:
        symbol, timeframe = parse_csv_name(a.data) if not (a.symbol and a.timeframe) else (a.symbol, a.timeframe)
        symbol, timeframe = a.symbol or symbol, a.timeframe or timeframe
        candles = load_csv(a.data)
        if len(candles) == 0:
            raise ValueError(f"{a.data}: no candles")
        settings = settings_for(a.strategy, a.config, candles, warn)
        if settings.get("timeframe", timeframe) != timeframe:
            warn(f"settings timeframe {settings['timeframe']} replaced by the data's {timeframe}")
        rules = MarketRules(a.price_step, a.amount_step, a.min_amount, a.min_cost)
        result = run_backtest(a.strategy, settings, candles, symbol=symbol, timeframe=timeframe,
                              initial_equity=a.initial_equity, maker_fee=a.maker_fee, taker_fee=a.taker_fee,
                              slippage=a.slippage, market=a.market, market_rules=rules)
        rep = report(result, settings, candles, rules, a.maker_fee, a.taker_fee, a.slippage)
    except ValidationError as e:
        print(f"invalid {a.strategy} settings:", file=sys.stderr)
        for err in e.errors():
            print(f"  {'.'.join(map(str, err['loc'])) or '(settings)'}: {err['msg']}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.plot:
        from engine.backtest.plot import plot

        plot(result, candles, a.plot)
    if a.json:
        print(json.dumps(rep.json()))
    else:
        print(summary_text(rep))
        if a.plot:
            print(f"  chart        {a.plot}")
    return 0
