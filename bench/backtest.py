"""Backtest speed on a year of 1m candles against backtesting.py in the same run: `python bench/backtest.py`.

The year (525,600 candles) is the shared BTC/USDT 1m month chained end to end: each candle's OHLC as ratios to the
previous close, the mean drift removed, tiled and compounded from the first close, so the path is continuous.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import talib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.backtest.runner import run_backtest
from engine.candles import Candles, load_csv

N = 525_600
DATA = Path(os.environ.get("TB_DATA_DIR", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))


def year_of_1m() -> Candles:
    src = load_csv(DATA / "BTC_USDT-1m.csv")
    prev = src.close[:-1]
    o, h, lo, c = (a[1:] / prev for a in (src.open, src.high, src.low, src.close))
    drift = np.exp(np.log(c).mean())
    reps = -(-N // len(c))
    o, h, lo, c = (np.tile(a / drift, reps)[:N] for a in (o, h, lo, c))
    base = src.close[0] * np.r_[1.0, np.cumprod(c)[:-1]]  # the previous close of every candle
    ts = src.ts[0] + 60_000 * np.arange(N, dtype=np.int64)
    return Candles(ts, base * o, base * h, base * lo, base * c, np.ones(N))


def median_s(fn, runs: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds (CPU time is what a busy shared machine distorts least)."""
    out = fn()  # warm caches
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), out


def backtesting_py(candles: Candles):
    """backtesting.py 0.6.6 on the same candles: long-only RSI(14), buy below 30, close above 70."""
    from backtesting import Backtest, Strategy

    class Rsi(Strategy):
        def init(self):
            self.rsi = self.I(talib.RSI, self.data.Close, 14)

        def next(self):
            if not self.position and self.rsi[-1] < 30:
                self.buy()
            elif self.position and self.rsi[-1] > 70:
                self.position.close()

    df = pd.DataFrame({"Open": candles.open, "High": candles.high, "Low": candles.low, "Close": candles.close,
                       "Volume": candles.volume}, index=pd.to_datetime(candles.ts, unit="ms"))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Backtest(df, Rsi, cash=100_000_000, commission=0.001, finalize_trades=True).run()

    return run


def main() -> None:
    candles = year_of_1m()
    first = float(candles.close[0])
    grid = {"lower_price": round(first * 0.9, 2), "upper_price": round(first * 1.1, 2), "levels": 20}
    ours = [  # (row, run, target candles/s, target ratio to backtesting.py)
        ("HYPERRSI (defaults, 1m)", lambda: run_backtest("hyperrsi", {}, candles, timeframe="1m"), 1_000_000, 5),
        ("GRID (fixed ±10 %, 20 levels)", lambda: run_backtest("grid", grid, candles, timeframe="1m"), 1_000_000, 5),
        # re-centred on the FAMA with ATR spacing on every candle, the ADX gate on; 500,000/s is ~2.5x
        # backtesting.py here (it ran at ~210,000/s on an idle machine)
        ("GRID adaptive (defaults, 1m)", lambda: run_backtest("grid", {"mode": "adaptive"}, candles, timeframe="1m"),
         500_000, 2.5),
    ]
    print(f"{N:,} 1m candles (BTC/USDT month chained to a year: {candles.low.min():,.0f} – {candles.high.max():,.0f})")
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  backtesting.py's progress bar
    try:
        bt_wall, bt_cpu, stats = median_s(backtesting_py(candles), 3)
    finally:
        sys.stderr.close()
        sys.stderr = sys.__stderr__
    print(f"{'run':<32}{'wall s':>8}{'candles/s':>12}{'x bt.py':>8}{'cpu s':>8}{'candles/s':>12}{'x bt.py':>8}"
          f"{'fills':>7}{'events':>8}")
    print(f"{'backtesting.py 0.6.6 plain RSI':<32}{bt_wall:>8.3f}{N / bt_wall:>12,.0f}{1.0:>8.1f}{bt_cpu:>8.3f}"
          f"{N / bt_cpu:>12,.0f}{1.0:>8.1f}{stats['# Trades'] * 2:>7}{N:>8}   (anchor, median of 3)")
    for name, fn, speed, ratio in ours:
        wall, cpu, r = median_s(fn, 5)
        met = "met" if N / cpu >= speed and bt_cpu / cpu >= ratio else "MISSED"
        print(f"{name:<32}{wall:>8.3f}{N / wall:>12,.0f}{bt_wall / wall:>8.1f}{cpu:>8.3f}{N / cpu:>12,.0f}"
              f"{bt_cpu / cpu:>8.1f}{len(r.fills):>7}{r.events:>8}   target >= {speed:,}/s, >= {ratio}x (cpu): {met}")


if __name__ == "__main__":
    main()
