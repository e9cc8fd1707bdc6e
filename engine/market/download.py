"""`python -m engine.market.download download`: fetch candles with ccxt into the shared CSV format, resumable."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.candles import CSV_HEADER, timeframe_ms

PAGE = 300  # OKX serves at most 300 candles per request; others more, but this is safe everywhere


def csv_name(symbol: str, timeframe: str) -> str:
    return f"{symbol.split(':')[0].replace('/', '_')}-{timeframe}.csv"


def _last_ts(path: Path) -> int | None:
    """The open time of the last complete row of an existing file (a torn last line is dropped)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    lines = path.read_text(encoding="ascii").splitlines()
    if lines and lines[0] != CSV_HEADER:
        raise ValueError(f"{path} is not a candle CSV ({CSV_HEADER})")
    rows = [ln for ln in lines[1:] if ln.count(",") == 5]
    if len(rows) != len(lines) - 1:  # rewrite without the torn line so appends stay well-formed
        path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="ascii")
    return int(rows[-1].split(",")[0]) if rows else None


def _fmt(v: float) -> str:
    return repr(float(v))


async def download(
    exchange: Any,
    symbol: str,
    timeframe: str,
    since_ms: int,
    path: Path,
    *,
    until_ms: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Append closed candles in [since, until) to `path`, continuing after its last row; returns rows added."""
    step = timeframe_ms(timeframe)
    last = _last_ts(path)
    cursor = max(since_ms - since_ms % step, (last + step) if last is not None else 0)
    end = until_ms - until_ms % step  # the candle opening at `end` is still forming
    if not path.exists() or last is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CSV_HEADER + "\n", encoding="ascii")
    added, total = 0, max((end - cursor) // step, 0)
    with path.open("a", encoding="ascii") as f:
        while cursor < end:
            rows = await exchange.fetch_ohlcv(symbol, timeframe, since=cursor, limit=PAGE)
            rows = [r for r in rows if cursor <= r[0] < end]
            if not rows:
                # A gap (exchange outage) or the end of history: skip one page ahead, keep going.
                cursor += PAGE * step
                continue
            for r in rows:
                f.write(",".join([str(int(r[0])), *(_fmt(v) for v in r[1:6])]) + "\n")
            f.flush()
            added += len(rows)
            cursor = int(rows[-1][0]) + step
            if progress:
                progress(added, total)
    return added


def _bar(done: int, total: int) -> None:
    width = 30
    frac = min(done / total, 1.0) if total else 1.0
    sys.stderr.write(f"\r[{'#' * int(frac * width):<{width}}] {done}/{total} candles")
    sys.stderr.flush()


def _parse_date(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


async def _main(args: argparse.Namespace) -> int:
    from engine.exchange.ccxt_lazy import ccxt

    if not hasattr(ccxt, args.exchange):
        print(f"unknown exchange {args.exchange!r}", file=sys.stderr)
        return 2
    ex = getattr(ccxt, args.exchange)({"enableRateLimit": True})
    try:
        path = Path(args.out) / csv_name(args.symbol, args.timeframe)
        until = _parse_date(args.until) if args.until else int(datetime.now(UTC).timestamp() * 1000)
        n = await download(ex, args.symbol, args.timeframe, _parse_date(args.since), path, until_ms=until,
                           progress=_bar)
    except ccxt.BaseError as e:
        print(f"\ndownload stopped: {type(e).__name__}; run the same command again to resume", file=sys.stderr)
        return 1
    finally:
        await ex.close()
    print(f"\n{n} candles added to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.market.download")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("download", help="fetch candles into a CSV file (resumes where the file ends)")
    d.add_argument("--exchange", required=True)
    d.add_argument("--symbol", required=True)
    d.add_argument("--timeframe", required=True)
    d.add_argument("--since", required=True, help="UTC date, e.g. 2024-01-01")
    d.add_argument("--until", help="UTC date (default: now)")
    d.add_argument("--out", default="data/candles")
    args = p.parse_args(argv)
    try:
        timeframe_ms(args.timeframe)
        _parse_date(args.since)
    except ValueError as e:
        p.error(str(e))
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
