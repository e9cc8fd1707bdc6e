"""The backtest chart: price with fills marked, and the equity curve below (matplotlib Agg, no pyplot state)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from engine.backtest.metrics import end_position
from engine.backtest.runner import BacktestResult
from engine.candles import Candles
from engine.strategies.roles import OrderRole

OPENING = (OrderRole.ENTRY, OrderRole.PYRAMID, OrderRole.GRID_ENTRY)  # a fill that opens or adds
MAX_POINTS = 4000


def _dates(ts: np.ndarray) -> np.ndarray:
    return np.array([datetime.fromtimestamp(t / 1000, tz=UTC) for t in ts.tolist()])


def _thin(n: int) -> np.ndarray:
    return np.unique(np.r_[np.arange(0, n, max(1, n // MAX_POINTS)), n - 1]) if n else np.arange(0)


def title(result: BacktestResult, unrealized: float) -> str:
    """The chart's headline; a position still held at the end shows its unrealised PnL, apart from the trades."""
    m = result.metrics
    held = f" · open at the end: unrealised {unrealized:+,.2f}" if unrealized else ""
    return (f"{result.strategy.upper()} {result.symbol} {result.timeframe} · return {m.total_return_pct:+.2f} % · "
            f"max DD {m.max_drawdown_pct:.2f} % · trades {m.trades} · win {m.win_rate:.0f} %{held}")


def plot(result: BacktestResult, candles: Candles, out: str | Path | BinaryIO) -> Path | BinaryIO:
    """Write the chart as PNG to a path or a binary file object (e.g. BytesIO for a chat photo); return where.

    Builds its own Figure (no pyplot), so it is safe in a worker thread.
    """
    m = result.metrics
    fig = Figure(figsize=(12, 7), layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    k = _thin(len(candles))
    ax1.plot(_dates(candles.ts[k]), candles.close[k], color="#555", lw=0.8, label="close")
    fills = result.fills
    opening = [f for f in fills if f.role in OPENING]
    closing = [f for f in fills if f not in opening]
    for group, label, marker in ((opening, "entries", "o"), (closing, "exits", "x")):
        for side, color in (("buy", "#1a9850"), ("sell", "#d73027")):
            pts = [f for f in group if f.side == side]
            if pts:
                ax1.scatter(_dates(np.array([f.ts for f in pts])), [f.price for f in pts], s=22, marker=marker,
                            color=color, label=f"{label} ({side})", zorder=3)
    end = end_position(fills, float(candles.close[-1]), m.initial_equity, m.final_equity) if len(candles) else None
    if end is not None and end.amount:
        ax1.axhline(end.entry, color="#1a9850" if end.amount > 0 else "#d73027", lw=0.8, ls=":",
                    label=f"held at the end: {'long' if end.amount > 0 else 'short'} {abs(end.amount):.6g} "
                          f"@ {end.entry:.6g}")
    ax1.set_ylabel("price")
    ax1.legend(loc="upper left", fontsize=8)
    ax1.grid(alpha=0.3)
    ax1.set_title(title(result, end.unrealized_pnl if end is not None else 0.0))
    e = _thin(len(result.ts))
    ax2.plot(_dates(result.ts[e]), result.equity[e], color="#2c7bb6", lw=1.0)
    ax2.axhline(m.initial_equity, color="#999", lw=0.8, ls="--")
    ax2.set_ylabel("equity")
    ax2.grid(alpha=0.3)
    ax2.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax2.xaxis.get_major_locator()))
    if isinstance(out, str | Path):
        out = Path(out)
    fig.savefig(out, format="png", dpi=100)
    return out
