"""Indicator speed on 1,000,000 bars against TA-Lib in the same run: `python bench/indicators.py`."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import talib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import indicators as ind
from engine import smoothing as sm
from engine import trend
from engine.candles import Candles

N = 1_000_000


def median_ms(fn, runs: int = 7) -> float:
    fn()  # warm caches
    times = []
    for _ in range(runs):
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(42)
    c = 30_000 + np.cumsum(rng.normal(0, 10, N))
    h, lo = c + np.abs(rng.normal(0, 5, N)), c - np.abs(rng.normal(0, 5, N))
    candles = Candles(np.arange(N, dtype=np.int64) * 60_000, c, h, lo, c, np.ones(N))
    rows = [
        ("sma(20)", lambda: ind.sma(c, 20), lambda: talib.SMA(c, 20)),
        ("ema(20)", lambda: ind.ema(c, 20), lambda: talib.EMA(c, 20)),
        ("rsi(14)", lambda: ind.rsi(c, 14), lambda: talib.RSI(c, 14)),
        ("atr(14)", lambda: ind.atr(h, lo, c, 14), lambda: talib.ATR(h, lo, c, 14)),
        ("bollinger(20,2)", lambda: ind.bollinger(c), lambda: talib.BBANDS(c, 20, 2, 2, 0)),
        ("adx(14)", lambda: ind.adx(h, lo, c), lambda: talib.ADX(h, lo, c, 14)),
    ]
    ema_ms = median_ms(lambda: talib.EMA(c, 20))
    custom = [
        ("jma(5)", lambda: sm.jma(c)),
        ("er_adaptive(20) mama+fama", lambda: sm.er_adaptive(c)),
        ("vidya(20)", lambda: sm.vidya(c, 20)),
        ("rational_quadratic", lambda: sm.rational_quadratic(c)),
        ("t3(5)", lambda: sm.t3(c)),
        ("bb_state (1M bars)", lambda: trend.bb_state(c)),
        ("adx_state (1M bars)", lambda: trend.adx_state(h, lo, c, 28, 28)),
        ("trend_state (1M 1m bars)", lambda: trend.trend_state(candles, "1m")),
    ]
    print(f"{N:,} bars; median of 7 runs; TA-Lib EMA(20) = {ema_ms:.2f} ms")
    print(f"{'indicator':<28}{'ours ms':>10}{'TA-Lib ms':>11}{'ratio':>8}   target")
    for name, ours, ref in rows:
        o, r = median_ms(ours), median_ms(ref)
        print(f"{name:<28}{o:>10.2f}{r:>11.2f}{o / r:>8.2f}   <= 1.5x TA-Lib")
    for name, ours in custom:
        o = median_ms(ours)
        print(f"{name:<28}{o:>10.2f}{ema_ms:>11.2f}{o / ema_ms:>8.1f}   <= 10x TA-Lib EMA")


if __name__ == "__main__":
    main()
