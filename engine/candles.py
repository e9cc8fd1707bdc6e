"""Candles as numpy columns: loading the shared CSV format, timeframe maths and aggregation."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import kernels

_TF_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
CSV_HEADER = "timestamp_ms,open,high,low,close,volume"


def timeframe_ms(timeframe: str) -> int:
    """'1m' -> 60000, '4h' -> 14400000; raises ValueError on anything else."""
    m = re.fullmatch(r"(\d+)([mhdw])", timeframe)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"unknown timeframe {timeframe!r}")
    return int(m.group(1)) * _TF_UNITS[m.group(2)]


@dataclass(frozen=True, slots=True)
class Candles:
    """OHLCV columns; `ts` is the open time in epoch ms (int64), ascending, gaps allowed."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, s: slice) -> Candles:
        return Candles(self.ts[s], self.open[s], self.high[s], self.low[s], self.close[s], self.volume[s])

    @classmethod
    def from_rows(cls, rows: list[list[float]] | np.ndarray) -> Candles:
        a = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(a[:, 0].astype(np.int64), *(np.ascontiguousarray(a[:, i]) for i in range(1, 6)))

    def rows(self) -> list[list[float]]:
        """ccxt-style [[ts, o, h, l, c, v], ...]."""
        return [
            [int(t), float(o), float(h), float(lo), float(c), float(v)]
            for t, o, h, lo, c, v in zip(self.ts, self.open, self.high, self.low, self.close, self.volume, strict=True)
        ]

    def closed_before(self, now_ms: int, timeframe: str) -> Candles:
        """Only the candles whose close time (open + timeframe) is at or before `now_ms`."""
        end = np.searchsorted(self.ts, now_ms - timeframe_ms(timeframe), side="right")
        return self[:end]


def parse_csv_name(path: str | Path) -> tuple[str, str]:
    """'BTC_USDT-1m.csv' (or 'BTC_USDT-1m.csv.gz') -> ('BTC/USDT', '1m')."""
    m = re.fullmatch(r"([A-Z0-9]+)_([A-Z0-9]+)-(\d+[mhdw])\.csv(?:\.gz)?", Path(path).name)
    if not m:
        raise ValueError(f"cannot read symbol and timeframe from file name {Path(path).name!r}")
    return f"{m.group(1)}/{m.group(2)}", m.group(3)


def load_csv(path: str | Path) -> Candles:
    """Read the `timestamp_ms,open,high,low,close,volume` format of ../shared/data (gzipped if named `*.gz`)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="ascii") as f:
        header = f.readline().strip()
        if header != CSV_HEADER:
            raise ValueError(f"{path}: expected header {CSV_HEADER!r}, got {header!r}")
        a = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    return Candles.from_rows(a)


def write_csv(path: str | Path, candles: Candles) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(CSV_HEADER + "\n")
        for t, o, h, lo, c, v in candles.rows():
            f.write(f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}\n")


def resample(candles: Candles, timeframe: str) -> Candles:
    """Aggregate finer candles into `timeframe` buckets aligned to the epoch (first open, max high,
    min low, last close, summed volume). Buckets with no source candle are absent (gaps stay gaps);
    a bucket is emitted even if partly covered, so callers wanting only complete buckets must check."""
    if len(candles) == 0:
        return candles
    parts = kernels.resample(
        *(np.ascontiguousarray(col) for col in (candles.ts, candles.open, candles.high, candles.low, candles.close,
                                                 candles.volume)),
        timeframe_ms(timeframe),
    )
    return Candles(*parts)
