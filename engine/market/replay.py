"""Candles replayed from a folder of CSV files (BTC_USDT-1m.csv or .csv.gz, …), coarser timeframes aggregated from the
finest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.candles import Candles, load_csv, parse_csv_name, resample, timeframe_ms
from engine.market.clock import Clock


class ReplaySource:
    """Serves `fetch_ohlcv` like an exchange would at the clock's time: only candles closed by then."""

    def __init__(self, folder: str | Path, clock: Clock):
        self.folder, self.clock = Path(folder), clock
        self._files: dict[str, list[tuple[int, Path]]] = {}
        for f in sorted([*self.folder.glob("*.csv"), *self.folder.glob("*.csv.gz")]):
            try:
                symbol, tf = parse_csv_name(f)
            except ValueError:
                continue
            self._files.setdefault(symbol, []).append((timeframe_ms(tf), f))
        self._cache: dict[tuple[str, str], Candles] = {}
        self._loaded: dict[Path, Candles] = {}

    def _load(self, f: Path) -> Candles:
        """Each file read once: every timeframe aggregated from it and `start_ms` share it."""
        if f not in self._loaded:
            self._loaded[f] = load_csv(f)
        return self._loaded[f]

    @staticmethod
    def _base(symbol: str) -> str:
        return symbol.split(":")[0]

    def symbols(self) -> list[str]:
        return sorted(self._files)

    def candles(self, symbol: str, timeframe: str) -> Candles:
        """All candles of `timeframe`, from the file of that timeframe or aggregated from the finest finer one."""
        key = (self._base(symbol), timeframe)
        if key not in self._cache:
            files = self._files.get(key[0])
            if not files:
                raise KeyError(f"no replay data for {symbol}")
            want = timeframe_ms(timeframe)
            usable = [(ms, f) for ms, f in files if want % ms == 0]
            if not usable:
                raise KeyError(f"no replay data for {symbol} at {timeframe} or finer")
            # only files reaching into the finest file's period qualify (the replay runs there): an exact file
            # that ended earlier would leave the replay without candles
            loaded = {f: self._load(f) for _, f in usable}
            finest_start = int(loaded[min(files)[1]].ts[0]) if min(files) in usable else 0
            usable = [(ms, f) for ms, f in usable if int(loaded[f].ts[-1]) >= finest_start] or usable
            exact = [(ms, f) for ms, f in usable if ms == want]
            ms, f = exact[0] if exact else min(usable)
            c = loaded[f]
            if ms != want:
                agg = resample(c, timeframe)
                # drop a last bucket the source has not covered to its end
                complete = agg.ts + want <= c.ts[-1] + ms
                c = agg[: int(complete.sum())]
            self._cache[key] = c
        return self._cache[key]

    def start_ms(self, symbol: str) -> int:
        return int(min(self._load(f).ts[0] for _, f in self._files[self._base(symbol)]))

    async def fetch_ohlcv(self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None):
        c = self.candles(symbol, timeframe)
        end = np.searchsorted(c.ts, self.clock.now_ms() - timeframe_ms(timeframe), side="right")
        start = np.searchsorted(c.ts, since, side="left") if since is not None else 0
        if since is None and limit:
            start = max(0, end - limit)
        stop = min(end, start + limit) if limit else end
        return c[start:stop].rows() if stop > start else []
