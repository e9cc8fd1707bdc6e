"""`python -m engine.backtest`: run HYPERRSI or GRID over a candle CSV and print JSON or a summary, or plot it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from engine.backtest.runner import SETTINGS, BacktestResult, run_backtest
from engine.candles import Candles, load_csv, parse_csv_name
from engine.exchange.paper import MAKER_FEE, SLIPPAGE, TAKER_FEE

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


def summary_text(r: BacktestResult) -> str:
    s = r.summary(max_points=2)
    pf = f"{s['profit_factor']:.2f}" if s["profit_factor"] is not None else \
        "n/a (no losing trade)" if s["trades"] else "n/a"
    lines = [
        f"{r.strategy.upper()} {r.symbol} {r.timeframe} ({r.market}), {s['candles']:,} candles",
        f"  equity       {s['initial_equity']:,.2f} -> {s['final_equity']:,.2f}  ({s['total_return_pct']:+.2f} %)",
        f"  max drawdown {s['max_drawdown_pct']:.2f} %",
        f"  trades       {s['trades']}  (win rate {s['win_rate']:.1f} %, profit factor {pf})",
        f"  sharpe       {s['sharpe']:.2f}",
        f"  fees paid    {s['fees_paid']:,.2f}",
        f"  fills        {len(r.fills)}  (orders placed {len(r.orders)})",
    ]
    for reason, details in r.notes:
        lines.append(f"  note         {reason} {details}")
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
        result = run_backtest(a.strategy, settings, candles, symbol=symbol, timeframe=timeframe,
                              initial_equity=a.initial_equity, maker_fee=a.maker_fee, taker_fee=a.taker_fee,
                              slippage=a.slippage, market=a.market)
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
        print(json.dumps(result.summary()))
    else:
        print(summary_text(result))
        if a.plot:
            print(f"  chart        {a.plot}")
    return 0
